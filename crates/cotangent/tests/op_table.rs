//! The generated op tests: every entry of the op table, on every sample, in each of its
//! dtypes, on contiguous inputs and on transposed, sliced and expanded views of them, against
//! its independent `f64` reference. One named trial per (op, check), so
//! `cargo test --test op_table -- matmul` runs one op's checks.

use cotangent::testing::{OpInfo, RefArray, TestRng, op_table};
use cotangent::{DType, Tensor};
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
            }
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
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
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
