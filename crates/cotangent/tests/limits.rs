//! Sizes at the limits: element counts never wrap, and memory that cannot be allocated is an
//! error, never an abort (issue 8, items 2 and 3, and `arange`'s bounds from item 9).
//!
//! Every shape whose element count, or size in bytes, does not fit is an `Error::Shape` in
//! torch's words ("Storage size calculation overflowed with sizes=[...]"), whichever op built
//! it: a factory, `from_vec`, a view, a broadcast or a primitive's output. A tensor that fits
//! but that the allocator refuses is an `Error::Alloc` naming the op, the shape and the bytes.
//! Each case then checks that the library still computes.
//!
//! The refused allocations ask for at least 2^58 bytes, more than any x86-64 or AArch64
//! address space (57 bits at most), so the allocator refuses them whatever the overcommit
//! policy; nothing here can succeed and then be killed for touching the memory. Only the
//! brief's `zeros(&[1 << 40])` (4 TiB) depends on the machine, and runs only where Linux
//! refuses what exceeds RAM and swap.

use cotangent::{
    DType, Error, Tensor, catch, conv2d, grad, max_pool2d, one_hot, pad, stack, try_bernoulli,
    try_grad, try_normal, try_rand, try_randint, try_randn, try_randperm, try_vmap, vmap,
};

/// A shape error of `op` whose message names `sizes`.
#[track_caller]
fn assert_overflow<T: std::fmt::Debug>(result: cotangent::Result<T>, op: &str, sizes: &str) {
    match result {
        Err(Error::Shape { op: got, msg }) => {
            assert_eq!(got, op, "{msg}");
            assert!(
                msg.contains("overflowed") && msg.contains(sizes),
                "{op}: message {msg:?} should say the size overflowed and name {sizes}"
            );
        }
        other => panic!("{op}: expected a shape overflow error, got {other:?}"),
    }
}

/// An allocation error of `op` for a `dtype` tensor of `shape` and `bytes` bytes, whose
/// message says so in torch's words.
#[track_caller]
fn assert_alloc<T: std::fmt::Debug>(
    result: cotangent::Result<T>,
    op: &str,
    shape: &[usize],
    dtype: DType,
    bytes: usize,
) {
    match result {
        Err(e @ Error::Alloc { .. }) => {
            let Error::Alloc {
                op: got_op,
                shape: got_shape,
                dtype: got_dtype,
                bytes: got_bytes,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(
                (*got_op, got_shape.as_slice(), *got_dtype, *got_bytes),
                (op, shape, dtype, bytes),
                "{e}"
            );
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!(
                    "{op}: can't allocate memory: you tried to allocate {bytes} bytes"
                )) && msg.contains(&format!("{shape:?}")),
                "{msg}"
            );
        }
        other => panic!("{op}: expected an allocation error, got {other:?}"),
    }
}

/// The library still computes after a failure.
#[track_caller]
fn still_works() {
    let x = Tensor::arange(4).to_dtype(DType::F32).reshape(&[2, 2]);
    assert_eq!(x.matmul(&x).to_vec::<f32>(), vec![2.0, 3.0, 6.0, 11.0]);
    let g = grad(|x: Tensor| (&x * &x).sum())(Tensor::new([1.0f64, 2.0]));
    assert_eq!(g.to_vec::<f64>(), vec![2.0, 4.0]);
}

/// A free broadcast view of `shape` over one `f32` one.
fn huge_view(shape: &[isize]) -> Tensor {
    let ones: Vec<isize> = shape.iter().map(|_| 1).collect();
    Tensor::ones(&[1]).reshape(&ones).expand(shape)
}

/// `1 << 58` elements: 2^60 bytes of f32, a size that fits `isize` but no address space.
const HUGE: usize = 1 << 58;

#[test]
fn from_vec_rejects_a_shape_whose_count_wraps() {
    // 3 * 0x5555555555555556 wraps to 2 in 64 bits.
    assert_overflow(
        Tensor::from_vec(vec![1.0f32, 2.0], &[3, 0x5555555555555556]),
        "from_vec",
        "sizes=[3, 6148914691236517206]",
    );
    assert_overflow(
        Tensor::from_slice(&[true, false], &[1 << 32, 1 << 32, 2]),
        "from_vec",
        "sizes=[4294967296, 4294967296, 2]",
    );
    // No elements, but the row-major strides of the other dims would overflow.
    assert_overflow(
        Tensor::from_vec(Vec::<f32>::new(), &[0, 1 << 40, 1 << 40]),
        "from_vec",
        "sizes=[0, 1099511627776, 1099511627776]",
    );
    assert!(Tensor::from_vec(Vec::<f32>::new(), &[0, 1 << 40]).is_ok());
    still_works();
}

#[test]
fn factories_reject_overflowing_shapes() {
    // torch: "Storage size calculation overflowed with sizes=[4294967296, 4294967296]".
    let sizes = "sizes=[4294967296, 4294967296]";
    let shape = [1usize << 32, 1 << 32];
    assert_overflow(Tensor::try_zeros(&shape), "zeros", sizes);
    assert_overflow(Tensor::try_ones(&shape), "ones", sizes);
    assert_overflow(Tensor::try_full(&shape, 2.0, DType::I64), "full", sizes);
    assert_overflow(Tensor::try_zeros_dtype(&shape, DType::Bool), "zeros", sizes);
    assert_overflow(Tensor::try_eye(1 << 32, 1 << 32), "eye", sizes);
    assert_overflow(try_rand(&shape, DType::F32), "rand", sizes);
    assert_overflow(try_randn(&shape, DType::F64), "randn", sizes);
    assert_overflow(try_randint(0, 5, &shape), "randint", sizes);
    assert_overflow(try_normal(0.0, 1.0, &shape), "randn", sizes);
    // The count fits, its bytes do not: 2^62 f32 take 2^64 bytes.
    let err = Tensor::try_zeros(&[1 << 62]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "zeros: Storage size calculation overflowed with sizes=[4611686018427387904]: \
         4611686018427387904 elements of torch.float32 take more than 9223372036854775807 \
         bytes, the most one tensor can hold"
    );
    assert_overflow(
        try_randperm(1 << 61),
        "randperm",
        "sizes=[2305843009213693952]",
    );
    // The panicking forms raise the same error.
    assert!(matches!(
        catch(|| Tensor::zeros(&shape)),
        Err(Error::Shape { op: "zeros", .. })
    ));
    assert!(matches!(
        catch(|| Tensor::eye(1 << 32, 1 << 32)),
        Err(Error::Shape { op: "eye", .. })
    ));
    still_works();
}

#[test]
fn reshape_view_and_unflatten_check_the_product() {
    let x = Tensor::arange(2);
    assert_overflow(
        x.try_reshape(&[3, 0x5555555555555556]),
        "reshape",
        "sizes=[3, 6148914691236517206]",
    );
    assert_overflow(
        catch(|| x.view(&[3, 0x5555555555555556])),
        "reshape",
        "sizes=[3, 6148914691236517206]",
    );
    // The known sizes overflow before -1 is inferred.
    assert_overflow(
        x.try_reshape(&[-1, 1 << 33, 1 << 33]),
        "reshape",
        "sizes=[-1, 8589934592, 8589934592]",
    );
    assert_overflow(
        catch(|| x.unflatten(0, &[3, 0x5555555555555556])),
        "unflatten",
        "sizes=[3, 6148914691236517206]",
    );
    // A 0-element tensor may not take a shape whose strides overflow.
    assert_overflow(
        Tensor::zeros(&[0]).try_reshape(&[0, 1 << 40, 1 << 40]),
        "reshape",
        "sizes=[0, 1099511627776, 1099511627776]",
    );
    assert_eq!(x.try_reshape(&[1, -1]).unwrap().shape(), &[1, 2]);
    still_works();
}

#[test]
fn broadcast_views_check_their_size() {
    let x = Tensor::ones(&[1, 1]);
    let sizes = "sizes=[4294967296, 4294967296]";
    assert_overflow(x.try_expand(&[1 << 32, 1 << 32]), "expand", sizes);
    assert_overflow(
        catch(|| x.broadcast_to(&[1 << 32, 1 << 32])),
        "broadcast_to",
        sizes,
    );
    // Two views that each fit broadcast to one that does not.
    let (a, b) = (huge_view(&[1 << 32, 1]), huge_view(&[1, 1 << 32]));
    assert_overflow(catch(|| &a + &b), "add", sizes);
    assert_overflow(catch(|| a.matmul(&b)), "matmul", sizes);
    // A view whose bytes overflow although its count fits (2^62 f32).
    assert_overflow(
        Tensor::ones(&[1]).try_expand(&[1 << 62]),
        "expand",
        "sizes=[4611686018427387904]",
    );
    // Batch dims of matmul broadcast past 2^64.
    let (p, q) = (
        huge_view(&[1 << 32, 1, 1, 1]),
        huge_view(&[1, 1 << 32, 1, 1]),
    );
    assert_overflow(catch(|| p.matmul(&q)), "matmul", sizes);
    // A huge view that fits costs nothing.
    let v = huge_view(&[HUGE as isize]);
    assert_eq!(v.numel(), HUGE);
    assert_eq!(v.narrow(0, 5, 2).to_vec::<f32>(), vec![1.0, 1.0]);
    still_works();
}

#[test]
fn joins_and_tilings_check_their_sums_and_products() {
    // Bool views take one byte an element: isize::MAX elements is the largest tensor there is.
    let big = Tensor::full(&[1], 1.0, DType::Bool).expand(&[isize::MAX]);
    let max = isize::MAX as usize;
    // 2 * (2^63 - 1) elements fit in 64 bits but not in isize bytes; 3 * do not fit at all.
    assert_overflow(
        cotangent::try_cat(&[&big, &big], 0),
        "cat",
        &format!("sizes=[{}]", 2 * max),
    );
    assert_overflow(
        cotangent::try_cat(&[&big, &big, &big], 0),
        "cat",
        &format!("[{max}, {max}, {max}]"),
    );
    assert_overflow(
        catch(|| stack(&[&big, &big], 0)),
        "stack",
        &format!("sizes=[2, {max}]"),
    );
    let x = Tensor::ones(&[2]);
    assert_overflow(
        catch(|| x.repeat(&[usize::MAX])),
        "repeat",
        "[18446744073709551615]",
    );
    assert_overflow(
        catch(|| x.repeat(&[1 << 62])),
        "repeat",
        "sizes=[9223372036854775808]",
    );
    assert_overflow(
        catch(|| one_hot(&Tensor::new([0i64]), i64::MAX)),
        "one_hot",
        &format!("sizes=[1, {max}]"),
    );
    assert_overflow(
        catch(|| one_hot(&Tensor::new([i64::MAX]), -1)),
        "one_hot",
        &format!("sizes=[1, {max}]"),
    );
    // A sum of split sizes that wraps is not a valid split.
    assert!(matches!(
        catch(|| x.split_with_sizes(&[usize::MAX, 3], 0)),
        Err(Error::Shape {
            op: "split_with_sizes",
            ..
        })
    ));
    still_works();
}

#[test]
fn padding_and_windows_check_their_arithmetic() {
    let x = Tensor::ones(&[2]);
    assert_overflow(
        catch(|| pad(&x, &[isize::MAX, isize::MAX], 0.0)),
        "pad",
        "[2]",
    );
    // Amounts near isize::MIN crop, without wrapping.
    assert!(matches!(
        catch(|| pad(&x, &[isize::MIN, 0], 0.0)),
        Err(Error::Shape { op: "pad", msg }) if msg.contains("negative output size")
    ));
    assert!(matches!(
        catch(|| pad(&x, &[isize::MIN, isize::MAX], 0.0)),
        Err(Error::Shape { op: "pad", msg }) if msg.contains("negative output size")
    ));
    // The padded size fits in 64 bits, its f32 bytes do not.
    assert_overflow(
        catch(|| pad(&x, &[1 << 62, 0], 0.0)),
        "pad",
        "sizes=[4611686018427387906]",
    );

    let (img, w) = (Tensor::ones(&[1, 1, 3, 3]), Tensor::ones(&[1, 1, 1, 1]));
    let conv = |padding: [usize; 2], dilation: [usize; 2]| {
        catch(|| conv2d(&img, &w, None, [1, 1], padding, dilation, 1))
    };
    for (padding, dilation) in [([1 << 63, 0], [1, 1]), ([usize::MAX, 0], [1, 1])] {
        assert!(
            matches!(conv(padding, dilation), Err(Error::Shape { op: "conv2d", msg }) if msg.contains("overflow")),
            "padding {padding:?}"
        );
    }
    let w3 = Tensor::ones(&[1, 1, 3, 1]);
    assert!(matches!(
        catch(|| conv2d(&img, &w3, None, [1, 1], [0, 0], [1 << 62, 1], 1)),
        Err(Error::Shape { op: "conv2d", msg }) if msg.contains("overflow")
    ));
    assert!(matches!(
        catch(|| max_pool2d(&img, [3, 1], None, [0, 0], [1 << 62, 1], false)),
        Err(Error::Shape { op: "max_pool2d", msg }) if msg.contains("overflow")
    ));
    assert!(matches!(
        catch(|| max_pool2d(&img, [usize::MAX, 1], None, [0, 0], [1, 1], false)),
        Err(Error::Shape {
            op: "max_pool2d",
            ..
        })
    ));
    // Huge groups do not overflow the channel check.
    assert!(matches!(
        catch(|| conv2d(
            &Tensor::ones(&[1, 0, 3, 3]),
            &Tensor::ones(&[0, 2, 1, 1]),
            None,
            [1, 1],
            [0, 0],
            [1, 1],
            usize::MAX
        )),
        Err(Error::Shape { op: "conv2d", .. })
    ));
    // A slice step far beyond the size takes one element (its stride times the step would
    // wrap).
    let y = Tensor::arange(6).reshape(&[2, 3]);
    assert_eq!(y.slice(1, 1, 3, usize::MAX).to_vec::<i64>(), vec![1, 4]);
    assert_eq!(y.slice(0, 0, 2, 1 << 62).to_vec::<i64>(), vec![0, 1, 2]);
    still_works();
}

#[test]
fn arange_rejects_non_finite_bounds_and_steps() {
    let value = |start: f64, end: f64, step: f64| match Tensor::try_arange_step(
        start,
        end,
        step,
        DType::F32,
    ) {
        Err(Error::Value { op: "arange", msg }) => msg,
        other => panic!("arange({start}, {end}, {step}): expected a value error, got {other:?}"),
    };
    assert_eq!(value(0.0, f64::NAN, 1.0), "unsupported range: 0 -> NaN");
    assert_eq!(value(f64::NAN, 1.0, 1.0), "unsupported range: NaN -> 1");
    assert_eq!(
        value(0.0, f64::INFINITY, 1.0),
        "unsupported range: 0 -> inf"
    );
    assert_eq!(
        value(f64::NEG_INFINITY, 0.0, 1.0),
        "unsupported range: -inf -> 0"
    );
    assert_eq!(
        value(0.0, 1.0, f64::NAN),
        "step must be a finite number, got NaN"
    );
    assert_eq!(
        value(0.0, 1.0, f64::INFINITY),
        "step must be a finite number, got inf"
    );
    assert_eq!(value(0.0, 1.0, 0.0), "step must be nonzero");
    assert_eq!(
        value(0.0, 1.0, -1.0),
        "upper bound and larger bound inconsistent with step sign"
    );
    assert!(value(0.0, 0.0, 0.0).contains("nonzero"));
    assert!(matches!(
        Tensor::try_arange(-1),
        Err(Error::Value { op: "arange", msg }) if msg.contains("inconsistent with step sign")
    ));
    // The panicking form raises the same error.
    assert!(matches!(
        catch(|| Tensor::arange_step(0.0, f64::NAN, 1.0, DType::F64)),
        Err(Error::Value { op: "arange", .. })
    ));
    // Finite bounds whose length is too long to count.
    assert!(matches!(
        Tensor::try_arange_step(-1e308, 1e308, 1.0, DType::F32),
        Err(Error::Shape { op: "arange", msg }) if msg.contains("possible overflow")
    ));
    assert!(matches!(
        Tensor::try_arange_step(0.0, 1e300, 1e-300, DType::F32),
        Err(Error::Shape { op: "arange", .. })
    ));
    // Valid ranges still work, the empty one included.
    assert_eq!(
        Tensor::arange_step(1.0, 2.0, 0.25, DType::F64).to_vec::<f64>(),
        vec![1.0, 1.25, 1.5, 1.75]
    );
    assert_eq!(Tensor::arange_step(3.0, 3.0, -1.0, DType::I64).numel(), 0);
    assert_eq!(Tensor::arange(0).numel(), 0);
    still_works();
}

#[test]
fn arange_of_a_huge_end_is_an_error_not_an_abort() {
    // i64::MAX elements of 8 bytes do not fit; 2^59 do but cannot be allocated.
    assert_overflow(
        Tensor::try_arange(i64::MAX),
        "arange",
        "sizes=[9223372036854775807]",
    );
    assert_overflow(
        catch(|| Tensor::arange(i64::MAX)),
        "arange",
        "sizes=[9223372036854775807]",
    );
    assert_alloc(
        Tensor::try_arange(1 << 59),
        "arange",
        &[1 << 59],
        DType::I64,
        1 << 62,
    );
    assert_alloc(
        Tensor::try_arange_step(0.0, HUGE as f64, 1.0, DType::F32),
        "arange",
        &[HUGE],
        DType::F32,
        HUGE * 4,
    );
    assert_alloc(
        Tensor::try_linspace(0.0, 1.0, HUGE),
        "linspace",
        &[HUGE],
        DType::F32,
        HUGE * 4,
    );
    still_works();
}

#[test]
fn factories_report_refused_allocations() {
    let f32_bytes = HUGE * 4;
    assert_alloc(
        Tensor::try_zeros(&[HUGE]),
        "zeros",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    still_works();
    assert_alloc(
        Tensor::try_ones(&[HUGE]),
        "ones",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(
        Tensor::try_full(&[2, HUGE / 2], -0.0, DType::F64),
        "full",
        &[2, HUGE / 2],
        DType::F64,
        HUGE * 8,
    );
    assert_alloc(
        Tensor::try_zeros_dtype(&[HUGE], DType::Bool),
        "zeros",
        &[HUGE],
        DType::Bool,
        HUGE,
    );
    assert_alloc(
        Tensor::try_eye(1 << 29, 1 << 29),
        "eye",
        &[1 << 29, 1 << 29],
        DType::F32,
        f32_bytes,
    );
    let view = huge_view(&[HUGE as isize]);
    assert_alloc(
        view.try_zeros_like(),
        "zeros_like",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(
        view.try_ones_like(),
        "ones_like",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(
        view.try_full_like(3.0),
        "full_like",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(view.try_rand_like(), "rand", &[HUGE], DType::F32, f32_bytes);
    assert_alloc(
        view.try_randn_like(),
        "randn",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(
        try_rand(&[HUGE], DType::F64),
        "rand",
        &[HUGE],
        DType::F64,
        HUGE * 8,
    );
    assert_alloc(
        try_randint(0, 9, &[HUGE]),
        "randint",
        &[HUGE],
        DType::I64,
        HUGE * 8,
    );
    assert_alloc(
        try_randperm(HUGE),
        "randperm",
        &[HUGE],
        DType::I64,
        HUGE * 8,
    );
    assert_alloc(
        try_bernoulli(&view),
        "bernoulli",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(
        try_normal(0.0, 1.0, &[HUGE]),
        "randn",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    // The panicking form raises the same error, and the library goes on.
    assert_alloc(
        catch(|| Tensor::zeros(&[HUGE])),
        "zeros",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(
        view.try_to_vec::<f64>(),
        "to_vec",
        &[HUGE],
        DType::F64,
        HUGE * 8,
    );
    still_works();
}

#[test]
fn the_brief_s_four_tebibytes_fail_where_linux_refuses_them() {
    // 4 TiB is beyond RAM and swap here; Linux's heuristic overcommit (mode 0) and strict
    // accounting (mode 2) refuse it at once. Mode 1 would hand it out untouched: skip there.
    let mode = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap_or_default();
    if mode.trim() == "1" {
        return;
    }
    // torch: "can't allocate memory: you tried to allocate 4398046511104 bytes".
    assert_alloc(
        Tensor::try_zeros(&[1 << 40]),
        "zeros",
        &[1 << 40],
        DType::F32,
        1 << 42,
    );
    still_works();
}

#[test]
fn kernels_report_refused_allocations_with_the_op_and_output_shape() {
    let f32_bytes = HUGE * 4;
    let view = huge_view(&[HUGE as isize]);
    assert_alloc(
        catch(|| view.contiguous()),
        "contiguous",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(catch(|| view.exp()), "exp", &[HUGE], DType::F32, f32_bytes);
    assert_alloc(catch(|| &view + 1.0), "add", &[HUGE], DType::F32, f32_bytes);
    assert_alloc(
        catch(|| view.to_dtype(DType::F64)),
        "to",
        &[HUGE],
        DType::F64,
        HUGE * 8,
    );
    assert_alloc(
        catch(|| view.cumsum(0)),
        "cumsum",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(
        catch(|| view.reshape(&[2, -1]).t().contiguous()),
        "contiguous",
        &[HUGE / 2, 2],
        DType::F32,
        f32_bytes,
    );
    // A matmul with a 2^60-element output, named as matmul.
    let (a, b) = (huge_view(&[1 << 30, 1]), huge_view(&[1, 1 << 30]));
    assert_alloc(
        catch(|| a.matmul(&b)),
        "matmul",
        &[1 << 30, 1 << 30],
        DType::F32,
        1 << 62,
    );
    assert_alloc(
        a.try_matmul(&b),
        "matmul",
        &[1 << 30, 1 << 30],
        DType::F32,
        1 << 62,
    );
    // Composites name themselves.
    let x = Tensor::ones(&[2]);
    assert_alloc(
        catch(|| x.repeat(&[HUGE / 2])),
        "repeat",
        &[HUGE],
        DType::F32,
        f32_bytes,
    );
    let row = huge_view(&[1, HUGE as isize / 2]);
    assert_alloc(
        catch(|| stack(&[&row, &row], 0)),
        "stack",
        &[2, 1, HUGE / 2],
        DType::F32,
        f32_bytes,
    );
    assert_alloc(
        catch(|| pad(&x, &[HUGE as isize, 0], 0.0)),
        "pad",
        &[HUGE + 2],
        DType::F32,
        (HUGE + 2) * 4,
    );
    // A convolution whose padding asks for 2^58 output elements.
    let (img, w) = (Tensor::ones(&[1, 1, 1, 1]), Tensor::ones(&[1, 1, 1, 1]));
    let side = (1usize << 29) + 1;
    assert_alloc(
        catch(|| conv2d(&img, &w, None, [1, 1], [1 << 28, 1 << 28], [1, 1], 1)),
        "conv2d",
        &[1, 1, side, side],
        DType::F32,
        side * side * 4,
    );
    assert_alloc(
        catch(|| view.flip(&[0])),
        "flip",
        &[HUGE],
        DType::I64,
        HUGE * 8,
    );
    still_works();
}

#[test]
fn transforms_return_the_same_allocation_error() {
    let expected_shape = [2, HUGE];
    let x = Tensor::ones(&[2, 1]);
    let under_vmap = try_vmap(|row: Tensor| row.expand(&[HUGE as isize]).contiguous())(x.clone());
    assert_alloc(
        under_vmap,
        "contiguous",
        &expected_shape,
        DType::F32,
        HUGE * 8,
    );
    let under_grad =
        try_grad(|x: Tensor| x.expand(&[HUGE as isize]).contiguous().sum())(Tensor::ones(&[1]));
    assert_alloc(under_grad, "contiguous", &[HUGE], DType::F32, HUGE * 4);
    // A factory inside a transformed function.
    let factory = try_vmap(|row: Tensor| &row + &Tensor::zeros(&[HUGE]))(x.clone());
    assert_alloc(factory, "zeros", &[HUGE], DType::F32, HUGE * 4);
    // And a shape overflow under vmap keeps its op too.
    let overflow = try_vmap(|row: Tensor| row.expand(&[1 << 32, 1 << 32]))(x);
    assert_overflow(overflow, "expand", "sizes=[4294967296, 4294967296]");
    still_works();
}

/// Set in the child processes of [`panics_report_the_callers_line`].
const CHILD: &str = "COTANGENT_LIMITS_CHILD";

/// Run `test` of this binary in a child process and return its output (stdout, then stderr);
/// the child must panic.
fn run_child(test: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the test binary");
    let stderr =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{test} should have panicked:\n{stderr}"
    );
    stderr
}

#[test]
fn panics_report_the_callers_line() {
    for test in [
        "child_zeros_panics",
        "child_vmap_panics",
        "child_grad_panics",
        "child_matmul_panics",
    ] {
        let stderr = run_child(test);
        let expected = stderr
            .lines()
            .find_map(|l| l.strip_prefix("expected at "))
            .unwrap_or_else(|| panic!("{test}: no location announced:\n{stderr}"))
            .to_string();
        assert!(
            stderr.contains(&format!("panicked at {expected}:")),
            "{test}: the panic should be reported at {expected}:\n{stderr}"
        );
        assert!(
            stderr.contains("can't allocate memory: you tried to allocate"),
            "{test}:\n{stderr}"
        );
        assert!(stderr.contains("1 failed"), "{test} ran:\n{stderr}");
    }
}

/// Prints where the next line is, for the parent to compare with the panic's location.
macro_rules! announce_next_line {
    () => {
        eprintln!("expected at {}:{}", file!(), line!() + 1)
    };
}

#[test]
fn child_zeros_panics() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    announce_next_line!();
    let _ = Tensor::zeros(&[HUGE]);
}

#[test]
fn child_vmap_panics() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let x = Tensor::ones(&[2, 1]);
    announce_next_line!();
    let _ = vmap(|row: Tensor| row.expand(&[HUGE as isize]).contiguous())(x);
}

#[test]
fn child_grad_panics() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    announce_next_line!();
    let _ = grad(|x: Tensor| x.expand(&[HUGE as isize]).contiguous().sum())(Tensor::ones(&[1]));
}

#[test]
fn child_matmul_panics() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    let (a, b) = (huge_view(&[1 << 30, 1]), huge_view(&[1, 1 << 30]));
    announce_next_line!();
    let _ = a.matmul(&b);
}
