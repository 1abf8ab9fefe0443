//! The generated op tests: every entry of the op table, on every sample, in each of its
//! dtypes, on contiguous inputs and on transposed, sliced and expanded views of them, against
//! its independent `f64` reference. One named trial per (op, check), so
//! `cargo test --test op_table -- matmul` runs one op's checks.

use cotangent::testing::{OpInfo, RefArray, TestRng, op_table};
use cotangent::{DType, Device, Tensor};
use libtest_mimic::{Arguments, Failed, Trial};

/// The ways each input is presented to the op: the values differ between variants, and the
/// reference is computed from the values each variant actually holds.
const VARIANTS: [&str; 4] = ["contiguous", "transposed", "sliced", "expanded"];

fn variant(x: &Tensor, kind: &str) -> Option<Tensor> {
    match kind {
        "contiguous" => Some(x.clone()),
        // Same values, stored transposed.
        "transposed" if x.dim() >= 2 => {
            let y = x.transpose(0, -1).contiguous().transpose(0, -1);
            assert!(!y.is_contiguous() || x.shape()[0] <= 1 || x.shape()[x.dim() - 1] <= 1);
            Some(y)
        }
        // Same values, embedded at an offset in a larger buffer with gaps.
        "sliced" if x.dim() >= 1 => {
            let mut shape = x.shape().to_vec();
            shape.iter_mut().for_each(|n| *n = 2 * *n + 1);
            // Host data with x's values at odd positions of every dim, zeros elsewhere.
            let values = x.to_vec::<f64>();
            let mut host = vec![0f64; shape.iter().product()];
            let strides: Vec<usize> = (0..shape.len())
                .map(|d| shape[d + 1..].iter().product())
                .collect();
            for (k, v) in values.iter().enumerate() {
                let mut rest = k;
                let mut flat = 0;
                for d in (0..x.dim()).rev() {
                    let i = rest % x.shape()[d];
                    rest /= x.shape()[d];
                    flat += (1 + 2 * i) * strides[d];
                }
                host[flat] = *v;
            }
            let big = Tensor::from_vec(host, &shape).unwrap().to_dtype(x.dtype());
            let mut view = big;
            for d in 0..x.dim() {
                view = view.slice(d as isize, 1, 1 + 2 * x.shape()[d] as isize, 2);
            }
            Some(view)
        }
        // Different values: the first row repeated (stride 0 along dim 0).
        "expanded" if x.dim() >= 1 && x.shape()[0] > 1 => {
            let sizes: Vec<isize> = x.shape().iter().map(|&n| n as isize).collect();
            Some(x.narrow(0, 0, 1).expand(&sizes))
        }
        _ => None,
    }
}

fn tolerance(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F32 => (1e-4, 1e-5),
        DType::F64 => (1e-10, 1e-12),
        _ => (0.0, 0.0),
    }
}

fn compare(name: &str, got: &Tensor, want: &RefArray, dtype: DType) -> Result<(), Failed> {
    if got.shape() != want.shape.as_slice() {
        return Err(format!(
            "{name}: shape {:?}, reference {:?}",
            got.shape(),
            want.shape
        )
        .into());
    }
    let (rtol, atol) = tolerance(dtype);
    for (i, (&g, &w)) in got.to_vec::<f64>().iter().zip(&want.data).enumerate() {
        let close = g == w || (g.is_nan() && w.is_nan()) || (g - w).abs() <= atol + rtol * w.abs();
        if !close {
            return Err(format!("{name}: element {i}: got {g}, reference {w}").into());
        }
    }
    Ok(())
}

fn check_op(info: &OpInfo, dtype: DType) -> Result<(), Failed> {
    let mut rng = TestRng::new(0x5eed);
    for (s, sample) in (info.samples)(&mut rng).into_iter().enumerate() {
        let inputs: Vec<Tensor> = sample
            .iter()
            .map(|t| {
                if t.dtype().is_float() {
                    t.to_dtype(dtype)
                } else {
                    t.clone()
                }
            })
            .collect();
        let kinds: &[&str] = if info.views {
            &VARIANTS
        } else {
            &VARIANTS[..1]
        };
        for &kind in kinds {
            // Vary one input at a time so every argument position sees every layout.
            for pos in 0..inputs.len().max(1) {
                let mut args = inputs.clone();
                if let Some(x) = args.get(pos) {
                    if !x.dtype().is_float() && kind != "contiguous" {
                        continue;
                    }
                    match variant(x, kind) {
                        Some(v) => args[pos] = v,
                        None => continue,
                    }
                }
                let label = format!("sample {s} ({kind} input {pos}, {dtype})");
                let refs: Vec<RefArray> = args.iter().map(RefArray::of).collect();
                let got = (info.op)(&args);
                let want = (info.reference)(&refs);
                let out_dtype = info.out_dtype.unwrap_or(dtype);
                if got.dtype() != out_dtype {
                    return Err(
                        format!("{label}: dtype {}, expected {out_dtype}", got.dtype()).into(),
                    );
                }
                compare(&label, &got, &want, out_dtype)?;
                if DEVICE.is_cuda() {
                    against_cpu(&label, info, &args, &got, out_dtype)?;
                }
            }
        }
    }
    Ok(())
}

/// The device the table runs on: `COTANGENT_DEFAULT_DEVICE` (every tensor the samples and
/// checks create lands there), the CPU unless set.
static DEVICE: std::sync::LazyLock<Device> = std::sync::LazyLock::new(cotangent::default_device);

/// On a GPU, the CPU backend is the reference: the op on the same values moved to the host
/// must agree with the device's result, and the result must live on the device.
fn against_cpu(
    label: &str,
    info: &OpInfo,
    args: &[Tensor],
    got: &Tensor,
    dtype: DType,
) -> Result<(), Failed> {
    if got.device() != *DEVICE {
        return Err(format!("{label}: result on {}, inputs on {}", got.device(), *DEVICE).into());
    }
    let host_args: Vec<Tensor> = args.iter().map(Tensor::cpu).collect();
    let host = cotangent::with_default_device(Device::Cpu, || (info.op)(&host_args));
    let host_ref = RefArray::of(&host);
    compare(&format!("{label} vs cpu backend"), got, &host_ref, dtype)
}

fn main() {
    let args = Arguments::from_args();
    if DEVICE.is_cuda() && !cotangent::cuda::is_available() {
        eprintln!(
            "op_table: skipped, COTANGENT_DEFAULT_DEVICE asks for {} but {}",
            *DEVICE,
            cotangent::cuda::unavailable_reason().unwrap_or_default()
        );
        return;
    }
    let trials = op_table()
        .into_iter()
        .flat_map(|info| {
            info.dtypes.clone().into_iter().map(move |dtype| {
                let info = info.clone();
                let name =
                    format!("{}::eval_matches_reference_{dtype:?}", info.name).to_lowercase();
                Trial::test(name, move || check_op(&info, dtype))
            })
        })
        .chain(
            op_table()
                .into_iter()
                .filter(|info| !info.no_transforms)
                .flat_map(|info| {
                    CHECKS.iter().map(move |&check| {
                        let info = info.clone();
                        let name = format!("{}::{check}", info.name).to_lowercase();
                        Trial::test(name, move || {
                            let gap = info
                                .gaps
                                .iter()
                                .find(|(c, _)| *c == check)
                                .map(|(_, why)| *why);
                            let outcome =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    run_transform_check(&info, check)
                                }))
                                .unwrap_or_else(|p| {
                                    Err(format!("panicked: {:?}", p.downcast_ref::<String>())
                                        .into())
                                });
                            match (outcome, gap) {
                                (Ok(()), None) | (Err(_), Some(_)) => Ok(()),
                                (Err(e), None) => Err(e),
                                (Ok(()), Some(why)) => Err(format!(
                                    "known gap now passes ({why}): remove it from the op's entry"
                                )
                                .into()),
                            }
                        })
                    })
                }),
        )
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

// ---------------------------------------------------------------- transform checks
//
// Each check applies a transform to every op of the table on every sample (f64, contiguous
// inputs) and compares with an oracle that does not use that transform: finite differences,
// the adjoint identity, or a plain loop.

use cotangent::transforms::vmap::Dims as VDims;
use cotangent::{VmapOpts, jvp, vjp, vmap_with};

/// The transform checks, by name.
const CHECKS: [&str; 8] = [
    "jvp_matches_finite_differences",
    "vjp_is_adjoint_of_jvp",
    "vmap_matches_loop",
    "vmap_of_vmap",
    "vmap_of_jvp",
    "vmap_of_vjp",
    "jvp_of_vjp_matches_finite_differences",
    "vjp_of_vjp_is_adjoint",
];

const BATCH: usize = 3;

/// The op as a function of its float arguments only; the others are captured constants.
fn of_floats(info: &OpInfo, args: &[Tensor]) -> impl Fn(Vec<Tensor>) -> Tensor + Clone + use<> {
    let op = info.op.clone();
    let args = args.to_vec();
    move |floats: Vec<Tensor>| {
        let mut it = floats.into_iter();
        let full: Vec<Tensor> = args
            .iter()
            .map(|a| {
                if a.dtype().is_float() {
                    it.next().unwrap()
                } else {
                    a.clone()
                }
            })
            .collect();
        op(&full)
    }
}

fn floats_of(args: &[Tensor]) -> Vec<Tensor> {
    args.iter()
        .filter(|a| a.dtype().is_float())
        .cloned()
        .collect()
}

fn samples_f64(info: &OpInfo, seed: u64) -> Vec<Vec<Tensor>> {
    (info.samples)(&mut TestRng::new(seed))
        .into_iter()
        .map(|s| {
            s.into_iter()
                .map(|t| {
                    if t.dtype().is_float() {
                        t.to_dtype(DType::F64)
                    } else {
                        t
                    }
                })
                .collect()
        })
        .collect()
}

fn random_like(rng: &mut TestRng, x: &Tensor) -> Tensor {
    rng.tensor(x.shape(), -1.0, 1.0)
}

fn inner(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x * y).sum().item::<f64>())
        .sum()
}

fn check_close(
    label: &str,
    got: &Tensor,
    want: &Tensor,
    rtol: f64,
    atol: f64,
) -> Result<(), Failed> {
    if got.shape() != want.shape() {
        return Err(format!(
            "{label}: shape {:?}, expected {:?}",
            got.shape(),
            want.shape()
        )
        .into());
    }
    let (g, w) = (got.to_vec::<f64>(), want.to_vec::<f64>());
    let ok = g.iter().zip(&w).all(|(&a, &b)| {
        a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= atol + rtol * b.abs()
    });
    if !ok {
        return Err(format!("{label}:\n got {got}\nwant {want}").into());
    }
    Ok(())
}

/// Central difference of `f` at `xs` along `ts`.
fn finite_difference(f: &impl Fn(Vec<Tensor>) -> Tensor, xs: &[Tensor], ts: &[Tensor]) -> Tensor {
    let eps = 1e-6;
    let shifted = |sign: f64| {
        xs.iter()
            .zip(ts)
            .map(|(x, t)| x + &(t * (sign * eps)))
            .collect::<Vec<_>>()
    };
    (&f(shifted(1.0)) - &f(shifted(-1.0))) / (2.0 * eps)
}

fn fd_check(
    label: &str,
    f: &impl Fn(Vec<Tensor>) -> Tensor,
    xs: &[Tensor],
    rng: &mut TestRng,
) -> Result<(), Failed> {
    let ts: Vec<Tensor> = xs.iter().map(|x| random_like(rng, x)).collect();
    let (_, ad) = jvp(f, xs.to_vec(), ts.clone());
    let fd = finite_difference(f, xs, &ts);
    check_close(label, &ad, &fd, 1e-5, 1e-6)
}

fn adjoint_check(
    label: &str,
    f: &impl Fn(Vec<Tensor>) -> Tensor,
    xs: &[Tensor],
    rng: &mut TestRng,
) -> Result<(), Failed> {
    let ts: Vec<Tensor> = xs.iter().map(|x| random_like(rng, x)).collect();
    let (y, y_dot) = jvp(f, xs.to_vec(), ts.clone());
    let c = random_like(rng, &y);
    let (_, pullback) = vjp(f, xs.to_vec());
    let x_bar: Vec<Tensor> = pullback.call(c.clone());
    let (lhs, rhs) = (inner(&[y_dot], &[c]), inner(&ts, &x_bar));
    if (lhs - rhs).abs() > 1e-9 * (1.0 + lhs.abs()) {
        return Err(format!("{label}: <J t, c> = {lhs} but <t, J^T c> = {rhs}").into());
    }
    Ok(())
}

/// Every choice of batch dim per argument among {0, last, None}, not all None.
fn dim_choices(args: &[Tensor]) -> Vec<Vec<Option<usize>>> {
    let mut out: Vec<Vec<Option<usize>>> = vec![vec![]];
    for a in args {
        let mut opts = vec![None, Some(0)];
        if a.dim() > 0 {
            opts.push(Some(a.dim()));
        }
        out = out
            .into_iter()
            .flat_map(|p| {
                opts.iter().map(move |o| {
                    let mut q = p.clone();
                    q.push(*o);
                    q
                })
            })
            .collect();
    }
    out.into_iter()
        .filter(|c| c.iter().any(Option::is_some))
        .collect()
}

fn in_dims(choice: &[Option<usize>]) -> VDims {
    VDims::Tuple(vec![VDims::List(
        choice
            .iter()
            .map(|d| VDims::Dim(d.map(|d| d as isize)))
            .collect(),
    )])
}

fn run_transform_check(info: &OpInfo, check: &str) -> Result<(), Failed> {
    let mut rng = TestRng::new(0xC0FFEE);
    let batches: Vec<Vec<Vec<Tensor>>> = (0..BATCH as u64)
        .map(|b| samples_f64(info, 0x5eed + b))
        .collect();
    for (s, sample) in batches[0].iter().enumerate() {
        let label = format!("{} sample {s}", info.name);
        let f = of_floats(info, sample);
        let xs = floats_of(sample);
        if xs.is_empty() {
            continue;
        }
        let op = info.op.clone();
        match check {
            "jvp_matches_finite_differences" => fd_check(&label, &f, &xs, &mut rng)?,
            "vjp_is_adjoint_of_jvp" => adjoint_check(&label, &f, &xs, &mut rng)?,
            "vmap_matches_loop" => {
                for choice in dim_choices(sample) {
                    let batched: Vec<Tensor> = choice
                        .iter()
                        .enumerate()
                        .map(|(i, d)| match d {
                            None => sample[i].clone(),
                            Some(d) => cotangent::stack(
                                &batches.iter().map(|b| b[s][i].clone()).collect::<Vec<_>>(),
                                *d as isize,
                            ),
                        })
                        .collect();
                    let looped: Vec<Tensor> = (0..BATCH)
                        .map(|b| {
                            let args: Vec<Tensor> = choice
                                .iter()
                                .enumerate()
                                .map(|(i, d)| {
                                    if d.is_some() {
                                        batches[b][s][i].clone()
                                    } else {
                                        sample[i].clone()
                                    }
                                })
                                .collect();
                            op(&args)
                        })
                        .collect();
                    let op2 = op.clone();
                    let got = vmap_with(
                        move |v: Vec<Tensor>| op2(&v),
                        VmapOpts::new().in_dims(in_dims(&choice)),
                    )(batched);
                    check_close(
                        &format!("{label} in_dims {choice:?}"),
                        &got,
                        &cotangent::stack(&looped, 0),
                        1e-10,
                        1e-12,
                    )?;
                }
            }
            "vmap_of_vmap" => {
                // Outer batch of 2 over an inner batch of BATCH, every argument mapped at 0.
                let inner_batch = |k: usize| -> Vec<Tensor> {
                    (0..sample.len())
                        .map(|i| {
                            cotangent::stack(
                                &(0..BATCH)
                                    .map(|b| batches[(b + k) % BATCH][s][i].clone())
                                    .collect::<Vec<_>>(),
                                0,
                            )
                        })
                        .collect()
                };
                let outer: Vec<Tensor> = (0..sample.len())
                    .map(|i| {
                        cotangent::stack(&[inner_batch(0)[i].clone(), inner_batch(1)[i].clone()], 0)
                    })
                    .collect();
                let op2 = op.clone();
                let got = vmap_with(
                    vmap_with(move |v: Vec<Tensor>| op2(&v), VmapOpts::new()),
                    VmapOpts::new(),
                )(outer);
                let want = cotangent::stack(
                    &(0..2)
                        .map(|k| {
                            cotangent::stack(
                                &(0..BATCH)
                                    .map(|b| op(&batches[(b + k) % BATCH][s]))
                                    .collect::<Vec<_>>(),
                                0,
                            )
                        })
                        .collect::<Vec<_>>(),
                    0,
                );
                check_close(&label, &got, &want, 1e-10, 1e-12)?;
            }
            "vmap_of_jvp" => {
                let ts: Vec<Vec<Tensor>> = (0..BATCH)
                    .map(|_| xs.iter().map(|x| random_like(&mut rng, x)).collect())
                    .collect();
                let xs_b: Vec<Vec<Tensor>> =
                    (0..BATCH).map(|b| floats_of(&batches[b][s])).collect();
                let stackn = |v: &Vec<Vec<Tensor>>| -> Vec<Tensor> {
                    (0..xs.len())
                        .map(|i| {
                            cotangent::stack(&v.iter().map(|a| a[i].clone()).collect::<Vec<_>>(), 0)
                        })
                        .collect()
                };
                let f2 = f.clone();
                let got = vmap_with(
                    move |(p, t): (Vec<Tensor>, Vec<Tensor>)| jvp(f2.clone(), p, t).1,
                    VmapOpts::new(),
                )((stackn(&xs_b), stackn(&ts)));
                let want = cotangent::stack(
                    &(0..BATCH)
                        .map(|b| jvp(f.clone(), xs_b[b].clone(), ts[b].clone()).1)
                        .collect::<Vec<_>>(),
                    0,
                );
                check_close(&label, &got, &want, 1e-10, 1e-12)?;
            }
            "vmap_of_vjp" => {
                let xs_b: Vec<Vec<Tensor>> =
                    (0..BATCH).map(|b| floats_of(&batches[b][s])).collect();
                let y = f(xs.clone());
                let cs: Vec<Tensor> = (0..BATCH).map(|_| random_like(&mut rng, &y)).collect();
                let stackn = |v: &Vec<Vec<Tensor>>| -> Vec<Tensor> {
                    (0..xs.len())
                        .map(|i| {
                            cotangent::stack(&v.iter().map(|a| a[i].clone()).collect::<Vec<_>>(), 0)
                        })
                        .collect()
                };
                let f2 = f.clone();
                let got: Vec<Tensor> = vmap_with(
                    move |(p, c): (Vec<Tensor>, Tensor)| vjp(f2.clone(), p).1.call::<Tensor>(c),
                    VmapOpts::new(),
                )((stackn(&xs_b), cotangent::stack(&cs, 0)));
                let looped: Vec<Vec<Tensor>> = (0..BATCH)
                    .map(|b| {
                        vjp(f.clone(), xs_b[b].clone())
                            .1
                            .call::<Tensor>(cs[b].clone())
                    })
                    .collect();
                for (i, g) in got.iter().enumerate() {
                    check_close(
                        &format!("{label} input {i}"),
                        g,
                        &cotangent::stack(
                            &looped.iter().map(|l| l[i].clone()).collect::<Vec<_>>(),
                            0,
                        ),
                        1e-10,
                        1e-12,
                    )?;
                }
            }
            "jvp_of_vjp_matches_finite_differences" | "vjp_of_vjp_is_adjoint" => {
                let y = f(xs.clone());
                let c = random_like(&mut rng, &y);
                // g(x) = <vjp(f, x)(c), w>, a scalar function of x whose derivatives are second order in f.
                let w: Vec<Tensor> = xs.iter().map(|x| random_like(&mut rng, x)).collect();
                let f2 = f.clone();
                let g = move |x: Vec<Tensor>| -> Tensor {
                    let bars: Vec<Tensor> = vjp(f2.clone(), x).1.call(c.clone());
                    bars.iter()
                        .zip(&w)
                        .map(|(b, w)| (b * w).sum())
                        .reduce(|a, b| &a + &b)
                        .expect("non-empty")
                };
                if check == "jvp_of_vjp_matches_finite_differences" {
                    fd_check(&label, &g, &xs, &mut rng)?;
                } else {
                    adjoint_check(&label, &g, &xs, &mut rng)?;
                }
            }
            other => unreachable!("unknown check {other}"),
        }
    }
    Ok(())
}
