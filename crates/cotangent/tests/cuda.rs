//! The CUDA backend's own behaviour: transfers, devices in errors, the allocator's
//! counters, out-of-memory, the random stream, transforms and `nn` over device tensors,
//! cuDNN against im2col, errors found on the device.
//! Without a GPU (CI) each test says why it skips and passes; the op table, conformance
//! and property suites run on the GPU through `COTANGENT_DEFAULT_DEVICE=cuda` (see
//! `scripts/cuda-suite.sh`).

use cotangent::nn::{self, Module};
use cotangent::{
    DType, Device, Error, Tensor, TensorOptions, catch, cuda, grad, jacrev, manual_seed, vmap,
};

/// The tests share the device's counters and the global generator, so they run one at a
/// time: each holds this lock.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The GPU (and the lock), or `None` after printing why the test skips.
fn gpu() -> Option<(Device, std::sync::MutexGuard<'static, ()>)> {
    if cuda::is_available() {
        Some((
            Device::Cuda(0),
            SERIAL.lock().unwrap_or_else(|p| p.into_inner()),
        ))
    } else {
        eprintln!(
            "skipped: no CUDA device ({})",
            cuda::unavailable_reason().unwrap_or_default()
        );
        None
    }
}

fn host(values: &[f64], shape: &[usize]) -> Tensor {
    cotangent::with_default_device(Device::Cpu, || Tensor::from_slice(values, shape).unwrap())
}

#[test]
fn without_a_gpu_the_error_names_the_feature_and_what_was_looked_for() {
    if cuda::is_available() {
        return;
    }
    let err = host(&[1.0], &[1]).try_to(Device::Cuda(0)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Device { .. }), "{msg}");
    if cfg!(feature = "cuda") {
        assert!(
            msg.contains("`cuda` feature") && (msg.contains("libcuda") || msg.contains("device")),
            "{msg}"
        );
    } else {
        assert!(msg.contains("--features cuda"), "{msg}");
    }
    // The library is usable afterwards.
    assert_eq!((host(&[2.0], &[1]) * 2.0).item::<f64>(), 4.0);
}

#[test]
fn transfers_round_trip_every_dtype_and_view() {
    let Some((dev, _serial)) = gpu() else { return };
    let x = host(&[1.5, -2.0, 3.25, 0.0, -0.5, 7.0], &[2, 3]);
    for dtype in [DType::F32, DType::F64, DType::I64, DType::Bool] {
        let h = x.to_dtype(dtype);
        let d = h.to(dev);
        assert_eq!(d.device(), dev);
        assert_eq!(d.dtype(), dtype);
        assert_eq!(d.to_vec::<f64>(), h.to_vec::<f64>(), "{dtype}");
        assert_eq!(d.cpu().to_vec::<f64>(), h.to_vec::<f64>());
        // Views made on the device read through their strides.
        let t = d.t();
        assert_eq!(t.to_vec::<f64>(), h.t().to_vec::<f64>());
        let e = d.narrow(0, 1, 1).expand(&[4, 3]);
        assert_eq!(
            e.to_vec::<f64>(),
            h.narrow(0, 1, 1).expand(&[4, 3]).to_vec::<f64>()
        );
        // Views made on the host travel as their values.
        assert_eq!(h.t().to(dev).to_vec::<f64>(), h.t().to_vec::<f64>());
    }
    assert_eq!(x.to(dev).to_string(), x.to_string());
}

#[test]
fn mixing_devices_is_torchs_error_and_scalars_are_welcome() {
    let Some((dev, _serial)) = gpu() else { return };
    let a = host(&[1.0, 2.0], &[2]).to(dev);
    let b = host(&[1.0, 2.0], &[2]);
    let err = catch(|| &a + &b).unwrap_err();
    assert!(matches!(err, Error::Device { op: "add", .. }), "{err}");
    assert!(
        err.to_string().contains(
            "Expected all tensors to be on the same device, but found at least two devices, \
             cuda:0 and cpu!"
        ),
        "{err}"
    );
    let err = catch(|| a.matmul(&b)).unwrap_err();
    assert!(err.to_string().contains("cuda:0 and cpu"), "{err}");
    // Numbers and 0-d host tensors meet device tensors, as in torch.
    assert_eq!((&a * 2.0).to_vec::<f64>(), vec![2.0, 4.0]);
    assert_eq!(
        (&a + &Tensor::scalar(1.0f64).cpu()).to_vec::<f64>(),
        vec![2.0, 3.0]
    );
    assert_eq!((&a * 2.0).device(), dev);
    // No such device.
    let err = b.try_to(Device::Cuda(999)).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn the_allocator_counts_like_torch_cuda_and_empty_cache_returns_blocks() {
    let Some((dev, _serial)) = gpu() else { return };
    cuda::synchronize();
    let before = cuda::memory_allocated(0);
    let x = Tensor::zeros_with(&[1024, 1024], TensorOptions::new().device(dev));
    assert_eq!(cuda::memory_allocated(0), before + (4 << 20));
    assert!(cuda::memory_reserved(0) >= cuda::memory_allocated(0));
    assert!(cuda::max_memory_allocated(0) >= before + (4 << 20));
    drop(x);
    assert_eq!(cuda::memory_allocated(0), before);
    // The block is cached and served again without the driver.
    let reserved = cuda::memory_reserved(0);
    let y = Tensor::ones_with(&[1024, 1024], TensorOptions::new().device(dev));
    assert_eq!(cuda::memory_reserved(0), reserved);
    drop(y);
    // The idle 4 MiB block goes back to the driver; what stays reserved is what live
    // tensors hold, rounded up to their blocks.
    let reserved = cuda::memory_reserved(0);
    cuda::empty_cache();
    assert!(cuda::memory_reserved(0) <= reserved - (4 << 20));
    assert!(cuda::memory_reserved(0) >= cuda::memory_allocated(0));
    cuda::reset_peak_memory_stats(0);
    assert_eq!(cuda::max_memory_allocated(0), cuda::memory_allocated(0));
}

#[test]
fn out_of_device_memory_is_an_error_with_the_counters_and_the_library_goes_on() {
    let Some((dev, _serial)) = gpu() else { return };
    // 2^42 f32 = 16 TiB: more than any device has.
    let err =
        Tensor::try_zeros_with(&[1 << 21, 1 << 21], TensorOptions::new().device(dev)).unwrap_err();
    match &err {
        Error::OutOfMemory {
            op,
            device,
            bytes,
            total,
            ..
        } => {
            assert_eq!((*op, *device, *bytes), ("zeros", dev, 1usize << 44));
            assert!(*total > 0);
        }
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
    assert!(err.to_string().contains("out of memory"), "{err}");
    let x = Tensor::ones_with(&[4], TensorOptions::new().device(dev));
    let err = catch(|| x.expand(&[1 << 38, 4]).contiguous()).unwrap_err();
    assert!(matches!(err, Error::OutOfMemory { .. }), "{err}");
    assert_eq!((&x * 3.0).sum().item::<f32>(), 12.0);
}

#[test]
fn manual_seed_gives_the_cpus_numbers() {
    let Some((dev, _serial)) = gpu() else { return };
    let on = |device: Device| TensorOptions::new().device(device);
    for dtype in [DType::F32, DType::F64] {
        manual_seed(7);
        let c = Tensor::rand_with(&[1001], on(Device::Cpu).dtype(dtype));
        manual_seed(7);
        let g = Tensor::rand_with(&[1001], on(dev).dtype(dtype));
        assert_eq!(g.to_vec::<f64>(), c.to_vec::<f64>(), "rand {dtype}");
        manual_seed(8);
        let c = Tensor::randn_with(&[1001], on(Device::Cpu).dtype(dtype));
        manual_seed(8);
        let g = Tensor::randn_with(&[1001], on(dev).dtype(dtype));
        assert!(g.cpu().allclose(&c, 1e-6, 1e-6), "randn {dtype}");
        manual_seed(9);
        let p = Tensor::rand_with(&[513], on(Device::Cpu).dtype(dtype));
        manual_seed(10);
        let c = p.bernoulli();
        manual_seed(10);
        let g = p.to(dev).bernoulli();
        assert_eq!(g.to_vec::<f64>(), c.to_vec::<f64>(), "bernoulli {dtype}");
    }
    manual_seed(11);
    let c = Tensor::randint_with(-5, 1000, &[777], on(Device::Cpu));
    manual_seed(11);
    let g = Tensor::randint_with(-5, 1000, &[777], on(dev));
    assert_eq!(g.to_vec::<i64>(), c.to_vec::<i64>());
    manual_seed(12);
    let c = Tensor::randperm_with(100, on(Device::Cpu));
    manual_seed(12);
    let g = Tensor::randperm_with(100, on(dev));
    assert_eq!(g.to_vec::<i64>(), c.to_vec::<i64>());
    assert_eq!(g.device(), dev);
}

#[test]
fn transforms_over_device_tensors_match_the_cpu() {
    let Some((dev, _serial)) = gpu() else { return };
    let w = host(&[0.3, -0.2, 0.5, 0.1, 0.7, -0.4], &[3, 2]);
    let x = host(&[1.0, 2.0, -1.0, 0.5, 0.25, -2.0, 3.0, 1.5], &[4, 2]);
    let loss = |w: Tensor, x: Tensor| x.matmul(&w.t()).tanh().pow_scalar(2.0).sum();
    // Per-sample gradients: vmap(grad).
    let per_sample = |w: &Tensor, x: &Tensor| {
        let l = loss;
        vmap(move |x: Tensor| grad(move |w: Tensor| l(w, x.clone()))(w.clone()))(x.clone())
    };
    let c = per_sample(&w, &x);
    let g = per_sample(&w.to(dev), &x.to(dev));
    assert_eq!(g.device(), dev);
    assert!(g.cpu().allclose(&c, 1e-12, 1e-12), "{g}\n{c}");
    let f = |x: Tensor| (&x.sin() * &x).sum_dim(&[0], false);
    let c: Tensor = jacrev(f)(x.clone());
    let g: Tensor = jacrev(f)(x.to(dev));
    assert!(g.cpu().allclose(&c, 1e-12, 1e-12));
    let h: Tensor = cotangent::hessian(|x: Tensor| x.pow_scalar(3.0).sum())(x.to(dev));
    let hc: Tensor = cotangent::hessian(|x: Tensor| x.pow_scalar(3.0).sum())(x);
    assert!(h.cpu().allclose(&hc, 1e-12, 1e-12));
}

#[test]
fn modules_move_and_train_on_the_device() {
    let Some((dev, _serial)) = gpu() else { return };
    manual_seed(0);
    let cpu_model = nn::Linear::new(4, 3);
    let mut model = cpu_model.clone();
    model.to_device(dev);
    assert!(model.named_parameters().values().all(|p| p.device() == dev));
    let x = host(&[0.5, -1.0, 2.0, 0.25, 1.0, 0.0, -0.5, 1.5], &[2, 4]).to_dtype(DType::F32);
    let y_cpu = cpu_model.forward(&x);
    let y = model.forward(&x.to(dev));
    assert!(y.cpu().allclose(&y_cpu, 1e-5, 1e-6));
    // functional_call over stacked device parameters, and an optimiser step there.
    let (params, _) = nn::stack_module_state(&[model.clone(), model.clone()]);
    assert!(params.values().all(|p| p.device() == dev));
    let p = model.named_parameters();
    let g = grad(|p: std::collections::BTreeMap<String, Tensor>| {
        nn::functional_call(&model, &p, &x.to(dev))
            .pow_scalar(2.0)
            .sum()
    })(p.clone());
    let opt = nn::optim::Adam::new(1e-2);
    let (p2, _) = opt.step(&p, &g, &opt.init(&p));
    assert!(p2.values().all(|t| t.device() == dev));
}

#[test]
fn conv2d_through_cudnn_and_through_im2col_matches_the_cpu() {
    let Some((dev, _serial)) = gpu() else { return };
    println!(
        "cuDNN version: {:?} (enabled: {})",
        cuda::cudnn_version(),
        cuda::cudnn_enabled()
    );
    manual_seed(7);
    // (input shape, weight shape, stride, padding, dilation, groups)
    type Case = (
        [usize; 4],
        [usize; 4],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        usize,
    );
    let cases: [Case; 4] = [
        ([2, 3, 9, 8], [4, 3, 3, 3], [1, 1], [1, 1], [1, 1], 1),
        ([3, 4, 11, 10], [6, 2, 3, 2], [2, 1], [0, 2], [2, 1], 2),
        ([1, 6, 7, 7], [6, 1, 3, 3], [1, 1], [1, 1], [1, 1], 6),
        ([5, 8, 6, 6], [16, 8, 1, 1], [1, 1], [0, 0], [1, 1], 1),
    ];
    for dtype in [DType::F32, DType::F64] {
        let tol = if dtype == DType::F32 { 1e-5 } else { 1e-12 };
        for (xs, ws, stride, padding, dilation, groups) in cases {
            let x =
                cotangent::with_default_device(Device::Cpu, || Tensor::randn(&xs)).to_dtype(dtype);
            let w =
                cotangent::with_default_device(Device::Cpu, || Tensor::randn(&ws)).to_dtype(dtype);
            let conv = |x: &Tensor, w: &Tensor| {
                cotangent::conv2d(x, w, None, stride, padding, dilation, groups)
            };
            let want = conv(&x, &w);
            // Gradients with respect to both operands: the rules' transposed convolutions.
            let energy = |(x, w): (Tensor, Tensor)| conv(&x, &w).square().sum();
            let opts = cotangent::GradOpts::new().argnums((0, 1));
            let (want_gx, want_gw): (Tensor, Tensor) =
                cotangent::grad_with(energy, opts.clone())((x.clone(), w.clone()));
            for cudnn in [true, false] {
                cuda::set_cudnn_enabled(cudnn);
                let what = format!("{dtype} {xs:?} * {ws:?} groups {groups}, cuDNN {cudnn}");
                let got = conv(&x.to(dev), &w.to(dev));
                assert!(got.cpu().allclose(&want, tol, tol), "{what}");
                let (gx, gw): (Tensor, Tensor) =
                    cotangent::grad_with(energy, opts.clone())((x.to(dev), w.to(dev)));
                assert!(gx.cpu().allclose(&want_gx, tol, tol), "{what}: grad x");
                assert!(gw.cpu().allclose(&want_gw, tol, tol), "{what}: grad w");
            }
            cuda::set_cudnn_enabled(true);
        }
    }
}

#[test]
fn a_bad_index_on_the_device_is_reported_at_the_next_read_and_the_library_goes_on() {
    let Some((dev, _serial)) = gpu() else { return };
    if std::env::var("COTANGENT_CUDA_SYNC_CHECKS").is_ok_and(|v| !v.is_empty() && v != "0") {
        return; // each op fails itself then, as on the CPU
    }
    let x = host(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).to(dev);
    let bad = cotangent::with_default_device(Device::Cpu, || {
        Tensor::from_slice(&[0i64, 3, 1], &[1, 3]).unwrap()
    })
    .to(dev);
    // No host wait at the op: the gather returns, and the read after it fails.
    let picked = x.take_along_dim(&bad, Some(1));
    let err = catch(|| picked.to_vec::<f64>()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Index { .. }), "{msg}");
    assert!(
        msg.contains("index 3 is out of bounds for dimension 1 with size 3")
            && msg.contains("COTANGENT_CUDA_SYNC_CHECKS"),
        "{msg}"
    );
    // Reported once; the device goes on.
    let good = cotangent::with_default_device(Device::Cpu, || {
        Tensor::from_slice(&[2i64, 0, 1], &[1, 3]).unwrap()
    })
    .to(dev);
    assert_eq!(
        x.take_along_dim(&good, Some(1)).to_vec::<f64>(),
        vec![3.0, 1.0, 2.0, 6.0, 4.0, 5.0]
    );
    // bernoulli's p outside [0, 1] likewise, found by cuda::synchronize as by any read.
    let p = host(&[0.5, 1.5], &[2]).to(dev);
    let _draw = p.bernoulli();
    let err = catch(cuda::synchronize).unwrap_err();
    assert!(err.to_string().contains("but got p = 1.5"), "{err}");
    assert_eq!((&x * 2.0).sum().item::<f64>(), 42.0);
}
