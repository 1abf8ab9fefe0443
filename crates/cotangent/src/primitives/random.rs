//! `random`: draws from the global generator (`torch.rand`, `randn`, `randint`, `randperm`,
//! `bernoulli`, `normal`, `manual_seed`).
//!
//! Every draw is one `Random` primitive. The public op reserves the draw's Philox counter
//! blocks from the global generator when it is called and stores that stream position in the
//! primitive, so evaluation is a pure function of the primitive's parameters and the result
//! does not depend on the thread count. The same seed gives the same numbers on any machine
//! (see `array/backend/cpu/random.rs` for the stream layout).
//!
//! Derivatives: a draw with no tensor input is a constant. `bernoulli`'s output is piecewise
//! constant in `p`, so its derivative is zero almost everywhere (torch returns zeros too).
//! Under `vmap`, `RandomKind` is the one place the `randomness` option looks at.

use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend::{self, Distribution};
use crate::array::{Array, DType, Device, Dims};
use crate::error::{Error, OrRaise, Result, raise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::{Tensor, try_bind_random};

/// What a [`Random`] primitive draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RandomKind {
    /// Uniform on `[0, 1)`, float dtype (`torch.rand`).
    Uniform,
    /// Standard normal, float dtype (`torch.randn`).
    Normal,
    /// Uniform integers in `[low, high)`, `i64` (`torch.randint`).
    RandInt {
        /// Smallest value.
        low: i64,
        /// One past the largest value.
        high: i64,
    },
    /// A random permutation of `0..n`, `i64` of shape `[n]` (`torch.randperm`).
    RandPerm,
    /// One input `p`: `1` with probability `p` elementwise, else `0`, in `p`'s float dtype
    /// (`torch.bernoulli`). `shape` and `dtype` are `p`'s.
    Bernoulli,
}

impl RandomKind {
    /// The torch name, for messages.
    fn name(self) -> &'static str {
        match self {
            RandomKind::Uniform => "rand",
            RandomKind::Normal => "randn",
            RandomKind::RandInt { .. } => "randint",
            RandomKind::RandPerm => "randperm",
            RandomKind::Bernoulli => "bernoulli",
        }
    }

    /// The backend distribution whose blocks this draw uses.
    fn distribution(self) -> Distribution {
        match self {
            RandomKind::Uniform | RandomKind::Bernoulli => Distribution::Uniform,
            RandomKind::Normal => Distribution::Normal,
            RandomKind::RandInt { low, high } => Distribution::RandInt { low, high },
            RandomKind::RandPerm => Distribution::RandPerm,
        }
    }
}

/// One draw of `kind` with output `shape` and `dtype`, at stream position `key` (reserved
/// from the global generator by the public op).
#[derive(Clone, Debug)]
pub(crate) struct Random {
    pub(crate) kind: RandomKind,
    pub(crate) shape: Dims,
    pub(crate) dtype: DType,
    pub(crate) key: RngState,
    /// Where a draw without inputs is made (bernoulli draws where `p` lives).
    pub(crate) device: Device,
}

impl Primitive for Random {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let name = self.kind.name();
        let want_inputs = usize::from(self.kind == RandomKind::Bernoulli);
        if inputs.len() != want_inputs {
            return Err(Error::shape(
                name,
                format!(
                    "internal: expected {want_inputs} inputs, got {}",
                    inputs.len()
                ),
            ));
        }
        match self.kind {
            RandomKind::Uniform | RandomKind::Normal | RandomKind::Bernoulli => {
                if !self.dtype.is_float() {
                    return Err(Error::dtype(
                        name,
                        format!(
                            "not implemented for '{}'; random floats need dtype torch.float32 or \
                             torch.float64",
                            self.dtype
                        ),
                    ));
                }
            }
            RandomKind::RandInt { low, high } => {
                if low >= high {
                    return Err(Error::value(
                        name,
                        format!(
                            "random_ expects 'from' to be less than 'to', but got from={low} >= \
                             to={high}; give low < high"
                        ),
                    ));
                }
            }
            RandomKind::RandPerm => {
                if self.shape.is_empty() {
                    return Err(Error::shape(
                        name,
                        format!("internal: shape {:?} is 0-d", self.shape),
                    ));
                }
            }
        }
        if let [p] = inputs
            && (p.shape != self.shape.as_slice() || p.dtype != self.dtype)
        {
            return Err(Error::shape(
                name,
                "internal: p's aval differs from the primitive's",
            ));
        }
        if backend::random_blocks(self.kind.distribution(), self.dtype, 0).is_none() {
            return Err(Error::dtype(
                name,
                format!("internal: cannot draw {}", self.dtype),
            ));
        }
        Ok(Aval {
            shape: self.shape.clone(),
            dtype: self.dtype,
        })
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        match self.kind {
            RandomKind::Bernoulli => backend::bernoulli(inputs[0], self.key),
            kind => backend::random_on(
                self.device,
                kind.distribution(),
                &self.shape,
                self.dtype,
                self.key,
            ),
        }
    }

    fn jvp(&self, _: &[Tensor], _: &Tensor, _: &[Option<Tensor>]) -> Option<Tensor> {
        // Constant draws, and bernoulli is piecewise constant in p.
        None
    }

    fn saves(&self) -> Save {
        Save::NOTHING
    }

    fn vjp(&self, res: &Residuals, _: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        vec![None; res.shapes.len()]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        use crate::transforms::vmap::{Randomness, current_randomness};
        let name = self.kind.name();
        if inputs.is_empty() {
            // vmap's randomness="different": one independent draw per batch element.
            let mut shape = vec![size];
            shape.extend_from_slice(&self.shape);
            return (
                draw_on(self.kind, &shape, self.dtype, &[], self.device),
                Some(0),
            );
        }
        match current_randomness() {
            Randomness::Error => raise(Error::transform(
                    "vmap",
                    "called random operation while in randomness error mode. Please either \
                     use the 'same' or 'different' randomness flags on vmap or perform the \
                     randomness operation out of vmap",
                )),
            Randomness::Same => raise(Error::transform(
                    "vmap",
                    format!(
                        "{name}: vmap does not support same randomness with a batched tensor \
                         input: one draw cannot be shared by the batch when each element has \
                         its own probabilities. Use randomness 'different', or pass an unbatched \
                         input"
                    ),
                )),
            Randomness::Different => {
                let p = batch_at_front(&inputs[0], axes[0], size);
                (draw(self.kind, p.shape(), self.dtype, &[&p]), Some(0))
            }
        }
    }
}

/// Bind a draw of `kind`, reserving its blocks from the global generator. Invalid requests
/// (an integer dtype for `rand`) reserve nothing and fail in the shape rule.
#[track_caller]
fn draw(kind: RandomKind, shape: &[usize], dtype: DType, inputs: &[&Tensor]) -> Tensor {
    try_draw(kind, shape, dtype, inputs).or_raise()
}

/// [`draw`] on `device` (for draws without inputs; with an input, its device wins).
#[track_caller]
fn draw_on(
    kind: RandomKind,
    shape: &[usize],
    dtype: DType,
    inputs: &[&Tensor],
    device: Device,
) -> Tensor {
    try_draw_on(kind, shape, dtype, inputs, device).or_raise()
}

/// [`draw`], returning the error: a shape whose size overflows (checked before any block is
/// reserved), the shape rule's, or an allocation the kernel could not make.
fn try_draw(kind: RandomKind, shape: &[usize], dtype: DType, inputs: &[&Tensor]) -> Result<Tensor> {
    try_draw_on(kind, shape, dtype, inputs, crate::default_device())
}

/// [`try_draw`] on `device`. The key, and so the numbers, do not depend on the device.
fn try_draw_on(
    kind: RandomKind,
    shape: &[usize],
    dtype: DType,
    inputs: &[&Tensor],
    device: Device,
) -> Result<Tensor> {
    let device = inputs.first().map_or(device, |p| p.device());
    if device != Device::Cpu {
        // The device must exist before a key is reserved, so a failed draw leaves the
        // generator where it was.
        Tensor::try_zeros_with(&[0], crate::TensorOptions::new().device(device))?;
    }
    let mut n = crate::array::layout::check_shape(kind.name(), shape, dtype)?;
    if kind == RandomKind::RandPerm {
        // Each row of a batch of permutations starts on a whole block (two draws a block).
        let last = shape.last().copied().unwrap_or(1).max(1);
        n = n / last * last.next_multiple_of(2);
    }
    let key = backend::reserve_random(kind.distribution(), dtype, n)
        // The shape rule rejects this pair with the user-facing message.
        .unwrap_or(RngState { seed: 0, offset: 0 });
    try_bind_random(
        Random {
            kind,
            shape: shape.into(),
            dtype,
            key,
            device,
        },
        inputs,
    )
}

pub use crate::array::backend::RngState;

/// Seed the global generator (`torch.manual_seed`): every later draw is determined by the
/// seed and the sequence of draws made since, whatever the thread count.
///
/// ```
/// # use cotangent::{Tensor, manual_seed};
/// manual_seed(0);
/// let a = Tensor::rand(&[3]);
/// manual_seed(0);
/// assert_eq!(a.to_vec::<f32>(), Tensor::rand(&[3]).to_vec::<f32>());
/// ```
pub fn manual_seed(seed: u64) {
    backend::manual_seed(seed);
}

/// The seed of the global generator (`torch.initial_seed`): the last [`manual_seed`], or
/// torch's default seed `67280421310721` if none was set.
///
/// ```
/// # use cotangent::{initial_seed, manual_seed};
/// manual_seed(7);
/// assert_eq!(initial_seed(), 7);
/// ```
pub fn initial_seed() -> u64 {
    backend::initial_seed()
}

/// A snapshot of the global generator (`torch.get_rng_state`).
///
/// ```
/// # use cotangent::{Tensor, get_rng_state, set_rng_state};
/// let state = get_rng_state();
/// let a = Tensor::randn(&[4]);
/// set_rng_state(state);
/// assert_eq!(a.to_vec::<f32>(), Tensor::randn(&[4]).to_vec::<f32>());
/// ```
pub fn get_rng_state() -> RngState {
    backend::get_rng_state()
}

/// Restore a snapshot from [`get_rng_state`] (`torch.set_rng_state`).
///
/// ```
/// # use cotangent::{get_rng_state, set_rng_state};
/// let s = get_rng_state();
/// set_rng_state(s);
/// assert_eq!(get_rng_state(), s);
/// ```
pub fn set_rng_state(state: RngState) {
    backend::set_rng_state(state);
}

/// Uniform samples on `[0, 1)` of a float `dtype` (`torch.rand(shape, dtype=dtype)`).
///
/// # Panics
/// If `dtype` is not a float dtype.
///
/// ```
/// # use cotangent::{DType, rand};
/// let x = rand(&[2, 3], DType::F64);
/// assert!(x.to_vec::<f64>().iter().all(|&v| (0.0..1.0).contains(&v)));
/// ```
#[track_caller]
pub fn rand(shape: &[usize], dtype: DType) -> Tensor {
    draw(RandomKind::Uniform, shape, dtype, &[])
}

/// [`rand`], returning the error instead of panicking: [`Error::DType`] for a non-float
/// dtype, [`Error::Shape`] if the shape's size overflows, [`Error::Alloc`] if the memory
/// cannot be allocated.
///
/// ```
/// # use cotangent::{DType, Error, try_rand};
/// assert!(matches!(try_rand(&[1 << 60], DType::F32), Err(Error::Alloc { op: "rand", .. })));
/// ```
pub fn try_rand(shape: &[usize], dtype: DType) -> Result<Tensor> {
    try_draw(RandomKind::Uniform, shape, dtype, &[])
}

/// Standard normal samples of a float `dtype` (`torch.randn(shape, dtype=dtype)`).
///
/// # Panics
/// If `dtype` is not a float dtype.
///
/// ```
/// # use cotangent::{DType, randn};
/// assert_eq!(randn(&[4, 2], DType::F32).shape(), &[4, 2]);
/// ```
#[track_caller]
pub fn randn(shape: &[usize], dtype: DType) -> Tensor {
    draw(RandomKind::Normal, shape, dtype, &[])
}

/// [`randn`], returning the error instead of panicking (as [`try_rand`]).
pub fn try_randn(shape: &[usize], dtype: DType) -> Result<Tensor> {
    try_draw(RandomKind::Normal, shape, dtype, &[])
}

/// `i64` samples uniform on `[low, high)` (`torch.randint(low, high, shape)`).
///
/// # Panics
/// If `low >= high`, with torch's message.
///
/// ```
/// # use cotangent::randint;
/// let x = randint(-2, 3, &[100]);
/// assert!(x.to_vec::<i64>().iter().all(|&v| (-2..3).contains(&v)));
/// ```
#[track_caller]
pub fn randint(low: i64, high: i64, shape: &[usize]) -> Tensor {
    draw(RandomKind::RandInt { low, high }, shape, DType::I64, &[])
}

/// [`randint`], returning the error instead of panicking.
pub fn try_randint(low: i64, high: i64, shape: &[usize]) -> Result<Tensor> {
    try_draw(RandomKind::RandInt { low, high }, shape, DType::I64, &[])
}

/// A random permutation of `0..n` as `i64` (`torch.randperm(n)`).
///
/// ```
/// # use cotangent::randperm;
/// let mut p = randperm(5).to_vec::<i64>();
/// p.sort();
/// assert_eq!(p, vec![0, 1, 2, 3, 4]);
/// ```
#[track_caller]
pub fn randperm(n: usize) -> Tensor {
    draw(RandomKind::RandPerm, &[n], DType::I64, &[])
}

/// [`randperm`], returning the error instead of panicking ([`Error::Shape`] or
/// [`Error::Alloc`] for an `n` too large).
pub fn try_randperm(n: usize) -> Result<Tensor> {
    try_draw(RandomKind::RandPerm, &[n], DType::I64, &[])
}

/// `1` with probability `p[i]`, else `0`, elementwise, in `p`'s dtype
/// (`torch.bernoulli(p)`). `p` of exactly 0 or 1 gives exactly 0 or 1.
///
/// # Panics
/// If `p` is not a float tensor, or (when evaluated) holds a value outside `[0, 1]`.
///
/// ```
/// # use cotangent::{Tensor, bernoulli};
/// let p = Tensor::from_slice(&[0.0f32, 1.0, 0.0], &[3]).unwrap();
/// assert_eq!(bernoulli(&p).to_vec::<f32>(), vec![0.0, 1.0, 0.0]);
/// ```
#[track_caller]
pub fn bernoulli(p: &Tensor) -> Tensor {
    try_bernoulli(p).or_raise()
}

/// [`bernoulli`], returning the error instead of panicking.
pub fn try_bernoulli(p: &Tensor) -> Result<Tensor> {
    if !p.dtype().is_float() {
        return Err(Error::dtype(
            "bernoulli",
            format!(
                "not implemented for '{}'; give p a float dtype",
                p.dtype()
            ),
        ));
    }
    try_draw(RandomKind::Bernoulli, p.shape(), p.dtype(), &[p])
}

/// `f32` samples from `N(mean, std^2)` (`torch.normal(mean, std, shape)`).
///
/// # Panics
/// Unless `std >= 0` (a negative or NaN `std`), with torch's message.
///
/// ```
/// # use cotangent::normal;
/// let x = normal(10.0, 0.0, &[3]);
/// assert_eq!(x.to_vec::<f32>(), vec![10.0; 3]);
/// ```
#[track_caller]
pub fn normal(mean: f64, std: f64, shape: &[usize]) -> Tensor {
    try_normal(mean, std, shape).or_raise()
}

/// [`normal`], returning the error instead of panicking.
pub fn try_normal(mean: f64, std: f64, shape: &[usize]) -> Result<Tensor> {
    if std.is_nan() || std < 0.0 {
        return Err(Error::value(
            "normal",
            format!("normal expects std >= 0.0, but found std {std}"),
        ));
    }
    let z = try_draw(RandomKind::Normal, shape, DType::F32, &[])?;
    // The scaled copies can fail to allocate too; the draw's op names them.
    crate::error::catch(|| z * std + mean)
        .map_err(|e| crate::array::alloc::alloc_named("normal", e))
}

impl Tensor {
    /// `f32` samples uniform on `[0, 1)` (`torch.rand(shape)`); see [`rand`] for other dtypes.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::rand(&[2, 2]).shape(), &[2, 2]);
    /// ```
    #[track_caller]
    pub fn rand(shape: &[usize]) -> Tensor {
        rand(shape, DType::F32)
    }

    /// Uniform samples of a float dtype; see [`rand`].
    #[track_caller]
    pub fn rand_dtype(shape: &[usize], dtype: DType) -> Tensor {
        rand(shape, dtype)
    }

    /// `f32` standard normal samples (`torch.randn(shape)`); see [`randn`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::randn(&[5]).shape(), &[5]);
    /// ```
    #[track_caller]
    pub fn randn(shape: &[usize]) -> Tensor {
        randn(shape, DType::F32)
    }

    /// Standard normal samples of a float dtype; see [`randn`].
    #[track_caller]
    pub fn randn_dtype(shape: &[usize], dtype: DType) -> Tensor {
        randn(shape, dtype)
    }

    /// `i64` samples uniform on `[low, high)`; see [`randint`].
    #[track_caller]
    pub fn randint(low: i64, high: i64, shape: &[usize]) -> Tensor {
        randint(low, high, shape)
    }

    /// A random permutation of `0..n`; see [`randperm`].
    #[track_caller]
    pub fn randperm(n: usize) -> Tensor {
        randperm(n)
    }

    /// Uniform samples with this tensor's shape and float dtype (`torch.rand_like`).
    ///
    /// # Panics
    /// If this tensor is not of a float dtype, as in torch.
    ///
    /// ```
    /// # use cotangent::{DType, Tensor};
    /// let x = Tensor::zeros_dtype(&[3], DType::F64);
    /// assert_eq!(x.rand_like().dtype(), DType::F64);
    /// ```
    #[track_caller]
    pub fn rand_like(&self) -> Tensor {
        draw_on(RandomKind::Uniform, self.shape(), self.dtype(), &[], self.device())
    }

    /// Standard normal samples with this tensor's shape and float dtype (`torch.randn_like`).
    ///
    /// # Panics
    /// If this tensor is not of a float dtype, as in torch.
    #[track_caller]
    pub fn randn_like(&self) -> Tensor {
        draw_on(RandomKind::Normal, self.shape(), self.dtype(), &[], self.device())
    }

    /// [`Tensor::rand_like`], returning the error instead of panicking.
    pub fn try_rand_like(&self) -> Result<Tensor> {
        try_draw_on(RandomKind::Uniform, self.shape(), self.dtype(), &[], self.device())
    }

    /// [`Tensor::randn_like`], returning the error instead of panicking.
    pub fn try_randn_like(&self) -> Result<Tensor> {
        try_draw_on(RandomKind::Normal, self.shape(), self.dtype(), &[], self.device())
    }

    /// Uniform samples on `[0, 1)` (`torch.rand(shape, dtype=, device=)`; default dtype
    /// `f32`). The same numbers on every device for the same generator state.
    #[track_caller]
    pub fn rand_with(shape: &[usize], opts: crate::TensorOptions) -> Tensor {
        draw_on(RandomKind::Uniform, shape, opts.dtype_or(DType::F32), &[], opts.device)
    }

    /// Standard normal samples (`torch.randn(shape, dtype=, device=)`; default `f32`).
    #[track_caller]
    pub fn randn_with(shape: &[usize], opts: crate::TensorOptions) -> Tensor {
        draw_on(RandomKind::Normal, shape, opts.dtype_or(DType::F32), &[], opts.device)
    }

    /// Uniform integers in `[low, high)` (`torch.randint(low, high, shape, device=)`;
    /// always `i64`).
    #[track_caller]
    pub fn randint_with(low: i64, high: i64, shape: &[usize], opts: crate::TensorOptions) -> Tensor {
        draw_on(RandomKind::RandInt { low, high }, shape, DType::I64, &[], opts.device)
    }

    /// A random permutation of `0..n` (`torch.randperm(n, device=)`; `i64`).
    #[track_caller]
    pub fn randperm_with(n: usize, opts: crate::TensorOptions) -> Tensor {
        draw_on(RandomKind::RandPerm, &[n], DType::I64, &[], opts.device)
    }

    /// Bernoulli samples with this tensor as the probabilities (`p.bernoulli()`); see
    /// [`bernoulli`].
    #[track_caller]
    pub fn bernoulli(&self) -> Tensor {
        bernoulli(self)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    // With p in {0, 1} a Bernoulli draw is exact: the output equals p, on any view of p.
    let zero_one = |rng: &mut crate::testing::TestRng, shape: &[usize]| {
        let n = shape.iter().product();
        let data: Vec<f64> = (0..n).map(|_| rng.below(2) as f64).collect();
        Tensor::from_vec(data, shape).expect("length matches")
    };
    vec![
        OpInfo::new(
            "bernoulli",
            |a| bernoulli(&a[0]),
            |r| RefArray::from_fn(&r[0].shape, |i| r[0].get(i)),
            move |rng| {
                [&[][..], &[7], &[3, 4], &[0, 3], &[2, 3, 5]]
                    .iter()
                    .map(|s| vec![zero_one(rng, s)])
                    .collect()
            },
        )
        // A draw: the transform checks compare independent runs, which cannot agree (and its
        // derivative is zero almost everywhere).
        .no_transforms(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::backend::cpu::random::lock_global_for_tests;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
    }

    /// One of each draw, as bit patterns (exact comparison, NaN-safe).
    fn draw_all(n: usize) -> Vec<Vec<u64>> {
        let bits = |t: Tensor| -> Vec<u64> {
            match t.dtype() {
                DType::F32 => t
                    .to_vec::<f32>()
                    .iter()
                    .map(|x| u64::from(x.to_bits()))
                    .collect(),
                DType::F64 => t.to_vec::<f64>().iter().map(|x| x.to_bits()).collect(),
                _ => t.to_vec::<i64>().iter().map(|&x| x as u64).collect(),
            }
        };
        let half = Tensor::full(&[n], 0.5, DType::F64);
        vec![
            bits(rand(&[n], DType::F32)),
            bits(rand(&[n], DType::F64)),
            bits(randn(&[n], DType::F32)),
            bits(randn(&[n], DType::F64)),
            bits(randint(-5, 1000, &[n])),
            bits(randperm(n)),
            bits(bernoulli(&half)),
            bits(normal(1.0, 2.0, &[n])),
        ]
    }

    #[test]
    fn manual_seed_reproduces_and_draws_differ() {
        let _g = lock_global_for_tests();
        manual_seed(1234);
        assert_eq!(initial_seed(), 1234);
        let first = draw_all(50);
        let second = draw_all(50);
        for (a, b) in first.iter().zip(&second) {
            assert_ne!(a, b, "successive draws must differ");
        }
        manual_seed(1234);
        assert_eq!(draw_all(50), first);
        assert_eq!(draw_all(50), second);
        manual_seed(1235);
        let other = draw_all(50);
        for (a, b) in first.iter().zip(&other) {
            assert_ne!(a, b, "different seeds must differ");
        }
        // Snapshots restore the stream position.
        let state = get_rng_state();
        let x = Tensor::rand(&[9]).to_vec::<f32>();
        set_rng_state(state);
        assert_eq!(Tensor::rand(&[9]).to_vec::<f32>(), x);
    }

    #[test]
    fn same_numbers_whatever_the_thread_count() {
        let _g = lock_global_for_tests();
        // Long enough for the kernels' parallel path, with a ragged tail.
        let n = (1 << 17) + 5;
        let run = |threads: usize| {
            pool(threads).install(|| {
                manual_seed(99);
                draw_all(n)
            })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(4));
    }

    #[test]
    fn statistics_are_sane() {
        let _g = lock_global_for_tests();
        manual_seed(7);
        let n = 200_000;
        let mean_var = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (
                m,
                v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64,
            )
        };
        let u = Tensor::rand(&[n]).to_vec::<f64>();
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
        let (m, v) = mean_var(&u);
        assert!(
            (m - 0.5).abs() < 0.01 && (v - 1.0 / 12.0).abs() < 0.01,
            "rand {m} {v}"
        );

        let z = Tensor::randn_dtype(&[n], DType::F64).to_vec::<f64>();
        let (m, v) = mean_var(&z);
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.02, "randn {m} {v}");

        let g = normal(3.0, 0.5, &[n]).to_vec::<f64>();
        let (m, v) = mean_var(&g);
        assert!(
            (m - 3.0).abs() < 0.01 && (v - 0.25).abs() < 0.01,
            "normal {m} {v}"
        );

        let k = Tensor::randint(-3, 4, &[n]).to_vec::<i64>();
        let mut counts = [0usize; 7];
        for &x in &k {
            counts[usize::try_from(x + 3).expect("in range")] += 1;
        }
        assert!(
            counts
                .iter()
                .all(|&c| (c as f64 / (n as f64 / 7.0) - 1.0).abs() < 0.05),
            "{counts:?}"
        );

        let p = Tensor::full(&[n], 0.3, DType::F32);
        let b = p.bernoulli().to_vec::<f64>();
        assert!(b.iter().all(|&x| x == 0.0 || x == 1.0));
        let (m, _) = mean_var(&b);
        assert!((m - 0.3).abs() < 0.01, "bernoulli mean {m}");

        let mut perm = Tensor::randperm(1000).to_vec::<i64>();
        assert_ne!(perm, (0..1000).collect::<Vec<_>>());
        perm.sort_unstable();
        assert_eq!(perm, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn bernoulli_of_zero_and_one_is_exact() {
        let _g = lock_global_for_tests();
        let p = Tensor::from_slice(&[0.0f64, 1.0, 1.0, 0.0, 0.0, 1.0], &[2, 3]).expect("data");
        for _ in 0..20 {
            assert_eq!(bernoulli(&p).to_vec::<f64>(), p.to_vec::<f64>());
            assert_eq!(bernoulli(&p.t()).to_vec::<f64>(), p.t().to_vec::<f64>());
        }
        assert_eq!(bernoulli(&p.to_dtype(DType::F32)).dtype(), DType::F32);
        assert_eq!(bernoulli(&Tensor::zeros(&[0, 4])).shape(), &[0, 4]);
    }

    #[test]
    fn shapes_dtypes_and_empty_draws() {
        let _g = lock_global_for_tests();
        assert_eq!(Tensor::rand(&[]).shape(), &[] as &[usize]);
        assert_eq!(Tensor::randn(&[0, 3]).shape(), &[0, 3]);
        assert_eq!(Tensor::randperm(0).shape(), &[0]);
        assert_eq!(Tensor::randint(0, 1, &[4]).to_vec::<i64>(), vec![0; 4]);
        assert_eq!(Tensor::zeros(&[2]).randn_like().dtype(), DType::F32);
        assert_eq!(Tensor::randperm(3).dtype(), DType::I64);
        // An empty draw reserves no blocks.
        let before = get_rng_state();
        let _ = Tensor::rand(&[0]);
        assert_eq!(get_rng_state(), before);
    }

    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let payload = std::panic::catch_unwind(f).expect_err("expected a panic");
        match payload.downcast::<String>() {
            Ok(s) => *s,
            Err(p) => p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn errors_follow_torch() {
        let _g = lock_global_for_tests();
        let msg = panic_message(|| drop(rand(&[2], DType::I64)));
        assert!(msg.contains("rand") && msg.contains("torch.int64"), "{msg}");
        let msg = panic_message(|| drop(randint(3, 3, &[2])));
        assert!(msg.contains("from=3 >= to=3"), "{msg}");
        let msg = panic_message(|| drop(Tensor::arange(3).bernoulli()));
        assert!(
            msg.contains("bernoulli") && msg.contains("torch.int64"),
            "{msg}"
        );
        let msg = panic_message(|| drop(Tensor::full(&[2], 1.5, DType::F32).bernoulli()));
        assert!(msg.contains("p_in >= 0 && p_in <= 1"), "{msg}");
        let msg = panic_message(|| drop(normal(0.0, -1.0, &[2])));
        assert!(msg.contains("std >= 0.0"), "{msg}");
        let msg = panic_message(|| drop(Tensor::arange(3).rand_like()));
        assert!(msg.contains("rand"), "{msg}");
    }
}
