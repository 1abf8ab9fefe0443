//! Random draws: dtypes, ranges and probabilities, and vmap's randomness modes.

use cotangent::{
    DType, Randomness, Tensor, VmapOpts, bernoulli, normal, rand, randint, randn, try_vmap,
    try_vmap_with,
};

use crate::common::z;

bad! {
    rand_of_integers: DType("rand", "not implemented for 'torch.int64'; random floats need dtype torch.float32 or torch.float64") =>
        rand(&[2], DType::I64);
    randn_of_bools: DType("randn", "not implemented for 'torch.bool'") =>
        randn(&[2], DType::Bool);
    randint_empty_range: Value("randint", "random_ expects 'from' to be less than 'to', but got from=3 >= to=3") =>
        randint(3, 3, &[2]);
    randint_reversed_range: Value("randint", "but got from=5 >= to=1") =>
        randint(5, 1, &[2]);
    normal_negative_std: Value("normal", "normal expects std >= 0.0, but found std -1") =>
        normal(0.0, -1.0, &[2]);
    normal_nan_std: Value("normal", "normal expects std >= 0.0, but found std NaN") =>
        normal(0.0, f64::NAN, &[2]);
    bernoulli_of_integers: DType("bernoulli", "not implemented for 'torch.int64'; give p a float dtype") =>
        bernoulli(&Tensor::arange(2));
    bernoulli_probability_above_one: Value("bernoulli", "Expected p_in >= 0 && p_in <= 1 to be true, but got p = 1.5") =>
        bernoulli(&Tensor::new([0.5f32, 1.5]));
    bernoulli_negative_probability: Value("bernoulli", "but got p = -0.25") =>
        Tensor::new([-0.25f64]).bernoulli();
    bernoulli_nan_probability: Value("bernoulli", "but got p = NaN") =>
        Tensor::new([f32::NAN]).bernoulli();
    rand_like_of_integers: DType("rand", "not implemented for 'torch.int64'") =>
        Tensor::arange(3).rand_like();
}

bad_result! {
    vmap_random_op_in_error_mode: Transform("vmap", "called random operation while in randomness error mode. Please either use the 'same' or 'different' randomness flags on vmap or perform the randomness operation out of vmap") =>
        try_vmap(|x: Tensor| &x + &Tensor::rand(&[]))(z(&[3]));
    vmap_bernoulli_in_error_mode: Transform("vmap", "called random operation while in randomness error mode") =>
        try_vmap(|p: Tensor| p.bernoulli())(Tensor::new([0.5f32, 0.5]));
    vmap_same_randomness_with_batched_input: Transform("vmap", "bernoulli: vmap does not support same randomness with a batched tensor input") =>
        try_vmap_with(|p: Tensor| p.bernoulli(), VmapOpts::new().randomness(Randomness::Same))(Tensor::new([0.5f32, 0.5]));
    vmap_bernoulli_out_of_range_under_different: Value("bernoulli", "Expected p_in >= 0 && p_in <= 1 to be true") =>
        try_vmap_with(|p: Tensor| p.bernoulli(), VmapOpts::new().randomness(Randomness::Different))(Tensor::new([0.5f32, 2.0]));
    randomness_unknown_name: Transform("vmap", "Only allowed values for randomness are 'error', 'different', or 'same'. Got sometimes") =>
        "sometimes".parse::<Randomness>();
}
