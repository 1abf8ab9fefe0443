//! Losses and the functional nn ops: shapes and dtypes of inputs and targets, targets out of
//! range (named as targets, with the class count), option values.

use cotangent::{
    CrossEntropyOpts, DType, Tensor, cross_entropy, cross_entropy_with, dropout, layer_norm,
    mse_loss, nll_loss, try_cross_entropy_with, try_nll_loss,
};

use crate::common::{idx, z};

bad! {
    nll_loss_input_not_a_batch: Shape("nll_loss", "expected input of shape [N, C] (a batch of log-probabilities over C classes), got [3]") =>
        nll_loss(&z(&[3]), &idx([0]));
    nll_loss_float_target: DType("nll_loss", "expected target of dtype torch.int64 (class indices), got torch.float32; for class probabilities use cross_entropy") =>
        nll_loss(&z(&[2, 3]), &z(&[2]));
    nll_loss_batch_sizes_differ: Shape("nll_loss", "Expected input batch_size (2) to match target batch_size (3)") =>
        nll_loss(&z(&[2, 3]), &idx([0, 1, 2]));
    nll_loss_target_too_large: Index("nll_loss", "Target 3 is out of bounds: targets must be class indices in [0, 3)") =>
        nll_loss(&z(&[2, 3]), &idx([0, 3]));
    nll_loss_negative_target: Index("nll_loss", "Target -1 is out of bounds") =>
        nll_loss(&z(&[2, 3]), &idx([-1, 0]));
    cross_entropy_target_too_large: Index("cross_entropy", "Target 5 is out of bounds: targets must be class indices in [0, 3)") =>
        cross_entropy(&z(&[2, 3]), &idx([5, 0]));
    cross_entropy_logits_not_a_batch: Shape("cross_entropy", "expected logits of shape [N, C] (a batch of scores over C classes), got [2, 3, 4]") =>
        cross_entropy(&z(&[2, 3, 4]), &idx([0, 1]));
    cross_entropy_integer_logits: DType("cross_entropy", "expected float logits, got torch.int64") =>
        cross_entropy(&Tensor::zeros_dtype(&[2, 3], DType::I64), &idx([0, 1]));
    cross_entropy_probabilities_of_wrong_shape: Shape("cross_entropy", "a float target holds class probabilities and must have the logits' shape [2, 3], got [2]") =>
        cross_entropy(&z(&[2, 3]), &z(&[2]));
    cross_entropy_bool_target: DType("cross_entropy", "expected target of dtype torch.int64 (class indices), got torch.bool") =>
        cross_entropy(&z(&[2, 3]), &Tensor::new([true, false]));
    cross_entropy_batch_sizes_differ: Shape("cross_entropy", "Expected input batch_size (2) to match target batch_size (1)") =>
        cross_entropy(&z(&[2, 3]), &idx([0]));
    cross_entropy_label_smoothing_above_one: Value("cross_entropy", "label_smoothing must be between 0.0 and 1.0. Got: 1.5") =>
        cross_entropy_with(&z(&[2, 3]), &idx([0, 1]), CrossEntropyOpts::new().label_smoothing(1.5));
    cross_entropy_label_smoothing_nan: Value("cross_entropy", "label_smoothing must be between 0.0 and 1.0. Got: NaN") =>
        cross_entropy_with(&z(&[2, 3]), &idx([0, 1]), CrossEntropyOpts::new().label_smoothing(f64::NAN));
    mse_loss_shapes_differ: Shape("mse_loss", "The size of tensor a (3) must match the size of tensor b (2)") =>
        mse_loss(&z(&[3]), &z(&[2]));
    layer_norm_shape_does_not_end_the_input: Shape("layer_norm", "Given normalized_shape=[4], expected input with shape [*, 4], but got input of size [2, 3]") =>
        layer_norm(&z(&[2, 3]), &[4], None, None, 1e-5);
    layer_norm_empty_normalized_shape: Shape("layer_norm", "Given normalized_shape=[], expected input with shape [*, ]") =>
        layer_norm(&z(&[2, 3]), &[], None, None, 1e-5);
    layer_norm_weight_of_wrong_shape: Shape("layer_norm", "weight has shape [2], expected normalized_shape [3]") =>
        layer_norm(&z(&[2, 3]), &[3], Some(&z(&[2])), None, 1e-5);
    layer_norm_bias_of_wrong_shape: Shape("layer_norm", "bias has shape [3, 1], expected normalized_shape [3]") =>
        layer_norm(&z(&[2, 3]), &[3], None, Some(&z(&[3, 1])), 1e-5);
    dropout_probability_above_one: Value("dropout", "dropout probability has to be between 0 and 1, but got 1.5") =>
        dropout(&z(&[3]), 1.5, true);
    dropout_negative_probability: Value("dropout", "dropout probability has to be between 0 and 1, but got -0.1") =>
        dropout(&z(&[3]), -0.1, false);
}

bad_result! {
    try_nll_loss_target_too_large: Index("nll_loss", "Target 9 is out of bounds") =>
        try_nll_loss(&z(&[1, 3]), &idx([9]));
    try_cross_entropy_float_target_of_wrong_shape: Shape("cross_entropy", "class probabilities") =>
        try_cross_entropy_with(&z(&[2, 3]), &z(&[3, 2]), CrossEntropyOpts::new());
}
