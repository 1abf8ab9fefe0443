//! The op table: one [`OpInfo`] per op (PyTorch's OpInfo idea), from which the test suite
//! generates its checks.
//!
//! An entry gives the op as a closure over tensors, sample inputs, and a *reference*: the
//! same function computed independently with plain `f64` loops over indices ([`RefArray`]).
//! `tests/op_table.rs` runs every entry on every sample in each of its dtypes and on
//! contiguous, transposed, sliced and expanded views of the inputs, and compares with the
//! reference. The transforms (next layer) add their checks to the same table.

use std::sync::Arc;

use crate::array::DType;
use crate::trace::Tensor;

/// Shared sizes, as in PyTorch's OpInfo tests.
pub const XS: usize = 3;
/// Small size.
pub const S: usize = 5;
/// Medium size.
pub const M: usize = 10;

/// A small deterministic generator for test inputs (splitmix64), so the table needs no
/// dependency and every failure is reproducible.
#[derive(Clone, Debug)]
pub struct TestRng(u64);

impl TestRng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        TestRng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// An f64 tensor of the given shape, uniform in `[lo, hi)`.
    pub fn tensor(&mut self, shape: &[usize], lo: f64, hi: f64) -> Tensor {
        let n = shape.iter().product();
        let data: Vec<f64> = (0..n).map(|_| self.uniform(lo, hi)).collect();
        Tensor::from_vec(data, shape).expect("length matches")
    }

    /// An i64 tensor of the given shape, uniform in `[0, n)`.
    pub fn indices(&mut self, shape: &[usize], n: usize) -> Tensor {
        let len = shape.iter().product();
        let data: Vec<i64> = (0..len).map(|_| self.below(n.max(1)) as i64).collect();
        Tensor::from_vec(data, shape).expect("length matches")
    }
}

/// A plain row-major array of `f64` for reference computations.
#[derive(Clone, Debug, PartialEq)]
pub struct RefArray {
    /// The shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f64>,
}

impl RefArray {
    /// The values of a tensor.
    pub fn of(t: &Tensor) -> RefArray {
        RefArray {
            shape: t.shape().to_vec(),
            data: t.to_vec::<f64>(),
        }
    }

    /// An array whose element at each multi-index is `f(index)`.
    pub fn from_fn(shape: &[usize], mut f: impl FnMut(&[usize]) -> f64) -> RefArray {
        let n: usize = shape.iter().product();
        let mut data = Vec::with_capacity(n);
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..n {
            data.push(f(&idx));
            for d in (0..shape.len()).rev() {
                idx[d] += 1;
                if idx[d] < shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        RefArray {
            shape: shape.to_vec(),
            data,
        }
    }

    /// The element at a multi-index.
    pub fn get(&self, idx: &[usize]) -> f64 {
        assert_eq!(idx.len(), self.shape.len(), "reference index rank");
        let mut flat = 0;
        for (d, &i) in idx.iter().enumerate() {
            assert!(i < self.shape[d], "reference index out of range");
            flat = flat * self.shape[d] + i;
        }
        self.data[flat]
    }

    /// Element at the multi-index `idx` of a broadcast result of shape `out_rank` dims:
    /// leading dims are dropped and size-1 dims read index 0 (numpy's rule, written plainly).
    pub fn get_broadcast(&self, idx: &[usize]) -> f64 {
        let skip = idx.len() - self.shape.len();
        let own: Vec<usize> = self
            .shape
            .iter()
            .enumerate()
            .map(|(d, &n)| if n == 1 { 0 } else { idx[skip + d] })
            .collect();
        self.get(&own)
    }
}

/// The numpy broadcast of several shapes (for references; panics if incompatible).
pub fn broadcast_shape(shapes: &[&[usize]]) -> Vec<usize> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    (0..rank)
        .map(|i| {
            let sizes = shapes
                .iter()
                .filter_map(|s| (i + s.len()).checked_sub(rank).map(|j| s[j]));
            let mut out = 1;
            for n in sizes {
                if n != 1 {
                    assert!(out == 1 || out == n, "reference: incompatible shapes");
                    out = n;
                }
            }
            out
        })
        .collect()
}

/// A tensor-valued op under test.
pub type OpFn = Arc<dyn Fn(&[Tensor]) -> Tensor + Send + Sync>;
/// Its independent reference.
pub type RefFn = Arc<dyn Fn(&[RefArray]) -> RefArray + Send + Sync>;
/// Its sample inputs (float inputs in f64; the harness casts them to each tested dtype).
pub type SampleFn = Arc<dyn Fn(&mut TestRng) -> Vec<Vec<Tensor>> + Send + Sync>;

/// One entry of the op table.
#[derive(Clone)]
pub struct OpInfo {
    /// The op's name (the test name prefix).
    pub name: String,
    /// The op.
    pub op: OpFn,
    /// The reference, on the values of the exact inputs given to the op.
    pub reference: RefFn,
    /// Sample inputs.
    pub samples: SampleFn,
    /// Float dtypes the samples are cast to (integer and bool inputs are kept).
    pub dtypes: Vec<DType>,
    /// The dtype of the output for a given input dtype, if it differs from the input's
    /// (comparisons give bool, argmax gives i64).
    pub out_dtype: Option<DType>,
    /// Also run on transposed/sliced/expanded views of each input.
    pub views: bool,
    /// Checks known to fail, with the reason; the suite fails if a declared gap passes.
    pub gaps: Vec<(&'static str, &'static str)>,
    /// Skip the transform checks (ops with integer or bool outputs, random ops).
    pub no_transforms: bool,
}

impl OpInfo {
    /// An entry with explicit op, reference and samples, tested in f32 and f64.
    pub fn new(
        name: &str,
        op: impl Fn(&[Tensor]) -> Tensor + Send + Sync + 'static,
        reference: impl Fn(&[RefArray]) -> RefArray + Send + Sync + 'static,
        samples: impl Fn(&mut TestRng) -> Vec<Vec<Tensor>> + Send + Sync + 'static,
    ) -> OpInfo {
        OpInfo {
            name: name.to_string(),
            op: Arc::new(op),
            reference: Arc::new(reference),
            samples: Arc::new(samples),
            dtypes: vec![DType::F32, DType::F64],
            out_dtype: None,
            views: true,
            gaps: Vec::new(),
            no_transforms: false,
        }
    }

    /// An elementwise unary op with a scalar reference, sampled on `[-2, 2)`.
    pub fn unary(name: &str, op: fn(&Tensor) -> Tensor, f: fn(f64) -> f64) -> OpInfo {
        Self::unary_on(name, op, f, (-2.0, 2.0))
    }

    /// An elementwise unary op sampled on `domain`.
    pub fn unary_on(
        name: &str,
        op: fn(&Tensor) -> Tensor,
        f: fn(f64) -> f64,
        domain: (f64, f64),
    ) -> OpInfo {
        OpInfo::new(
            name,
            move |a| op(&a[0]),
            move |r| RefArray {
                shape: r[0].shape.clone(),
                data: r[0].data.iter().map(|&x| f(x)).collect(),
            },
            move |rng| {
                [&[][..], &[S], &[XS, S], &[0, XS], &[2, XS, 4]]
                    .iter()
                    .map(|s| vec![rng.tensor(s, domain.0, domain.1)])
                    .collect()
            },
        )
    }

    /// An elementwise binary op with broadcasting, sampled on `[-2, 2)`.
    pub fn binary(
        name: &str,
        op: fn(&Tensor, &Tensor) -> Tensor,
        f: fn(f64, f64) -> f64,
    ) -> OpInfo {
        Self::binary_on(name, op, f, (-2.0, 2.0), (-2.0, 2.0))
    }

    /// An elementwise binary op with the operands drawn from the given domains.
    pub fn binary_on(
        name: &str,
        op: fn(&Tensor, &Tensor) -> Tensor,
        f: fn(f64, f64) -> f64,
        da: (f64, f64),
        db: (f64, f64),
    ) -> OpInfo {
        OpInfo::new(
            name,
            move |a| op(&a[0], &a[1]),
            move |r| {
                let shape = broadcast_shape(&[&r[0].shape, &r[1].shape]);
                RefArray::from_fn(&shape, |i| f(r[0].get_broadcast(i), r[1].get_broadcast(i)))
            },
            move |rng| {
                let pairs: [(&[usize], &[usize]); 8] = [
                    (&[S], &[S]),
                    (&[XS, S], &[S]),
                    (&[XS, 1], &[1, S]),
                    (&[], &[XS, S]),
                    (&[XS, S], &[]),
                    (&[0, XS], &[XS]),
                    (&[2, 1, 4], &[XS, 1]),
                    (&[2, XS, 4], &[2, XS, 4]),
                ];
                pairs
                    .iter()
                    .map(|(a, b)| vec![rng.tensor(a, da.0, da.1), rng.tensor(b, db.0, db.1)])
                    .collect()
            },
        )
    }

    /// Test in these float dtypes instead.
    pub fn dtypes(mut self, dtypes: &[DType]) -> OpInfo {
        self.dtypes = dtypes.to_vec();
        self
    }

    /// The output has this dtype whatever the input dtype. A non-float output has no
    /// derivative, so the transform checks are skipped for it.
    pub fn out_dtype(mut self, dtype: DType) -> OpInfo {
        self.out_dtype = Some(dtype);
        if !dtype.is_float() {
            self.no_transforms = true;
        }
        self
    }

    /// Declare a known gap: `check` (e.g. `"vjp_of_vjp"`) fails for this op, because `why`.
    pub fn gap(mut self, check: &'static str, why: &'static str) -> OpInfo {
        self.gaps.push((check, why));
        self
    }

    /// Skip the transform checks (only the evaluation is checked).
    pub fn no_transforms(mut self) -> OpInfo {
        self.no_transforms = true;
        self
    }

    /// Skip the view variants (for ops whose samples are not plain float inputs).
    pub fn no_views(mut self) -> OpInfo {
        self.views = false;
        self
    }
}

/// Every entry of the op table: the primitives' and the composites'.
pub fn op_table() -> Vec<OpInfo> {
    let mut table = crate::primitives::op_table();
    table.extend(crate::ops::op_table());
    table.extend(crate::nn::op_info());
    table
}

/// The panic message of `f`, which must panic (for tests of error messages).
///
/// # Panics
/// If `f` returns normally.
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

/// Assert that `f` panics with a message containing every one of `parts`.
///
/// # Panics
/// If `f` does not panic, or the message lacks a part.
#[track_caller]
pub fn assert_panics_with(f: impl FnOnce(), parts: &[&str]) {
    let msg = panic_message(f);
    for part in parts {
        assert!(msg.contains(part), "message {msg:?} lacks {part:?}");
    }
}
