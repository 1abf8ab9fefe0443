//! `reduce_prod`: the product over a set of axes, which are removed (torch's `prod`). The
//! empty product is 1; integer and bool inputs multiply as `i64`, as in torch.
//!
//! Derivative: `∂y/∂x_i = ∏_{j≠i} x_j`, which is `y / x_i` only where `x_i` is neither 0 nor
//! ±inf. The rules must not divide (zeros are common, and `0 / 0` would be a silent NaN);
//! they use the exclusive products instead: prefix × suffix products over the reduced
//! elements, as torch's `prod_safe_zeros_backward` does.

use super::broadcast_in_dim::broadcast_in_dim;
use super::reshape::reshape_to;
use super::frontend::{keepdim_shape, reduction_axes, try_normalize_dim};
use super::reduce_sum::reduce_sum;
use super::reduce_sum::{reduced_aval, reduction_samples, reference_reduce};
use super::rules::batch_at_front;
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::backend::{self, ReduceOp};
use crate::array::{Array, DType, Dims};
use crate::error::{Error, Result, OrRaise};
use crate::testing::OpInfo;
use crate::trace::{Tensor, bind};

/// Product over `axes` (sorted, unique).
#[derive(Clone, Debug)]
pub(crate) struct ReduceProd {
    pub(crate) axes: Dims,
}

impl Primitive for ReduceProd {
    fn name(&self) -> &'static str {
        "prod"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        if inputs[0].dtype == DType::Bool {
            return Err(Error::shape(
                "prod",
                "internal: bool input should be cast to int64 first",
            ));
        }
        reduced_aval("prod", inputs[0], &self.axes)
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::reduce(inputs[0], &self.axes, ReduceOp::Prod)
    }

    // d(prod x) = sum_i (prod_{j != i} x_j) dx_i.
    fn jvp(&self, primals: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        let t = tangents[0].as_ref()?;
        let x = &primals[0];
        if !x.dtype().is_float() {
            return None;
        }
        Some(reduce_sum(&(t * &self.others(x)), &self.axes))
    }

    fn saves(&self) -> Save {
        Save::INPUTS
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, _: &[bool]) -> Vec<Option<Tensor>> {
        let x = res.input(0);
        vec![Some(&self.unreduce(cotangent, x.shape()) * &self.others(x))]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let x = batch_at_front(&inputs[0], axes[0], size);
        let shifted = self.axes.iter().map(|&a| a + 1).collect();
        (bind(ReduceProd { axes: shifted }, &[&x]), Some(0))
    }
}

impl ReduceProd {
    /// For every element, the product of the other elements of its reduction,
    /// `∏_{j≠i} x_j`, with no division: the reduced elements of each output are laid out
    /// as one last axis, and the exclusive prefix product times the exclusive suffix product
    /// along it is taken, each a scan of ⌈log₂ n⌉ doubling steps.
    fn others(&self, x: &Tensor) -> Tensor {
        let shape = x.shape();
        let kept: Vec<usize> = (0..shape.len())
            .filter(|d| !self.axes.contains(d))
            .collect();
        let order: Vec<usize> = kept.iter().chain(&self.axes).copied().collect();
        let n: usize = self.axes.iter().map(|&d| shape[d]).product();
        if n == 0 {
            return x.zeros_like();
        }
        let mut line_shape: Vec<usize> = kept.iter().map(|&d| shape[d]).collect();
        line_shape.push(n);
        let permutation: Vec<isize> = order.iter().map(|&d| d as isize).collect();
        let lines = reshape_to(&x.permute(&permutation), &line_shape);
        // `t` moved `by` places along the last axis, towards its end (`forward`) or its
        // start, with ones in the places it leaves.
        let shift = |t: &Tensor, by: usize, forward: bool| -> Tensor {
            let (start, pads) = if forward { (0, [by as isize, 0]) } else { (by as isize, [0, by as isize]) };
            super::pad::pad(&t.narrow(-1, start, n - by), &pads, 1.0)
        };
        let exclusive_scan = |forward: bool| {
            let mut inclusive = lines.clone();
            let mut by = 1;
            while by < n {
                inclusive = &inclusive * &shift(&inclusive, by, forward);
                by *= 2;
            }
            shift(&inclusive, 1, forward)
        };
        let others = &exclusive_scan(true) * &exclusive_scan(false);
        let moved: Vec<usize> = order.iter().map(|&d| shape[d]).collect();
        let mut inverse = vec![0isize; order.len()];
        for (i, &d) in order.iter().enumerate() {
            inverse[d] = i as isize;
        }
        reshape_to(&others, &moved).permute(&inverse)
    }

    /// `g` (the output's shape) broadcast back over the reduced axes of `shape`.
    fn unreduce(&self, g: &Tensor, shape: &[usize]) -> Tensor {
        let kept: Vec<usize> = (0..shape.len())
            .filter(|d| !self.axes.contains(d))
            .collect();
        broadcast_in_dim(g, shape, &kept)
    }
}

/// Product over `dims` (`None`: all), keeping them as size 1 if `keepdim`.
#[track_caller]
pub(crate) fn prod_dims(x: &Tensor, dims: Option<&[isize]>, keepdim: bool) -> Tensor {
    let axes = reduction_axes("prod", x, dims);
    // torch multiplies bools as int64.
    let x = if x.dtype() == DType::Bool {
        x.to_dtype(DType::I64)
    } else {
        x.clone()
    };
    let out = if axes.is_empty() {
        x.clone()
    } else {
        bind(ReduceProd { axes: axes.clone() }, &[&x])
    };
    if keepdim {
        super::reshape::reshape_to(&out, &keepdim_shape(x.shape(), &axes))
    } else {
        out
    }
}

/// The product of all elements (`dim` `None`, a 0-d result) or along `dim`, kept as size 1
/// if `keepdim` (`torch.prod`).
///
/// # Panics
/// If `dim` is out of range, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, prod};
/// let x = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]);
/// assert_eq!(prod(&x, None, false).item::<f32>(), 24.0);
/// assert_eq!(prod(&x, Some(-1), true).to_vec::<f32>(), vec![2.0, 12.0]);
/// ```
#[track_caller]
pub fn prod(x: &Tensor, dim: Option<isize>, keepdim: bool) -> Tensor {
    match dim {
        None => prod_dims(x, None, keepdim),
        Some(d) => {
            try_normalize_dim("prod", d, x.dim()).or_raise();
            prod_dims(x, Some(&[d]), keepdim)
        }
    }
}

impl Tensor {
    /// The product of all elements, a 0-d tensor (`x.prod()`); 1 for an empty tensor.
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([2i64, 3, 4]).prod().item::<i64>(), 24);
    /// ```
    #[track_caller]
    pub fn prod(&self) -> Tensor {
        prod_dims(self, None, false)
    }

    /// The product along `dim` (`x.prod(dim, keepdim)`); see [`prod`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// let x = Tensor::new([[1.0f32, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.prod_dim(0, false).to_vec::<f32>(), vec![3.0, 8.0]);
    /// ```
    #[track_caller]
    pub fn prod_dim(&self, dim: isize, keepdim: bool) -> Tensor {
        prod(self, Some(dim), keepdim)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let times = |a: f64, b: f64| a * b;
    vec![
        OpInfo::new(
            "prod",
            |a| a[0].prod(),
            move |r| {
                reference_reduce(
                    &r[0],
                    &(0..r[0].shape.len()).collect::<Vec<_>>(),
                    false,
                    1.0,
                    times,
                )
            },
            |rng| {
                vec![
                    vec![rng.tensor(&[2, 3], 0.5, 1.5)],
                    vec![rng.tensor(&[3, 1, 2], -1.5, 1.5)],
                    vec![rng.tensor(&[], -1.0, 1.0)],
                    vec![rng.tensor(&[0, 3], -1.0, 1.0)],
                ]
            },
        ),
        OpInfo::new(
            "prod_dim",
            |a| a[0].prod_dim(-1, false),
            move |r| reference_reduce(&r[0], &[r[0].shape.len() - 1], false, 1.0, times),
            |rng| {
                let mut s = reduction_samples(rng);
                s.push(vec![rng.tensor(&[3, 0], -1.0, 1.0)]);
                s
            },
        ),
        OpInfo::new(
            "prod_dim_keepdim",
            |a| a[0].prod_dim(0, true),
            move |r| reference_reduce(&r[0], &[0], true, 1.0, times),
            reduction_samples,
        ),
        OpInfo::new(
            "prod_i64",
            |a| a[0].prod_dim(1, false),
            move |r| reference_reduce(&r[0], &[1], false, 1.0, times),
            |rng| vec![vec![rng.indices(&[3, 4], 5)], vec![rng.indices(&[2, 0], 5)]],
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}

#[cfg(test)]
mod tests {
    use crate::array::DType;
    use crate::trace::Tensor;

    #[test]
    fn derivatives_at_zeros_and_infinities_are_the_products_of_the_others() {
        // torch 2.15.0's numbers; dividing the product by x_i gave NaN at each of these.
        let x = Tensor::new([[0.0f64, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]);
        let g: Tensor = crate::grad(|x: Tensor| x.prod_dim(1, false).sum())(x.clone());
        let rows = [6.0, 0.0, 0.0, 6.0, 3.0, 2.0, 0.0, 0.0, 0.0];
        assert_eq!(g.to_vec::<f64>(), rows);
        let (_, dy) = crate::jvp(|x: Tensor| x.prod_dim(1, false), x.clone(), x.ones_like());
        assert_eq!(dy.to_vec::<f64>(), vec![6.0, 11.0, 0.0]);
        // Down the other dim, over both dims, and under vmap.
        let g: Tensor = crate::grad(|x: Tensor| x.prod_dim(0, false).sum())(x.clone());
        assert_eq!(g.to_vec::<f64>(), vec![0.0, 0.0, 3.0, 0.0, 0.0, 3.0, 0.0, 4.0, 9.0]);
        let g: Tensor = crate::grad(|x: Tensor| x.prod())(x.narrow(0, 0, 2));
        assert_eq!(g.to_vec::<f64>(), vec![36.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let per_row = crate::vmap(crate::grad(|r: Tensor| r.prod()))(x.clone());
        assert_eq!(per_row.to_vec::<f64>(), rows);
        let g: Tensor = crate::grad(|x: Tensor| x.prod())(Tensor::new([f64::INFINITY, 2.0]));
        assert_eq!(g.to_vec::<f64>(), vec![2.0, f64::INFINITY]);
        // Second order: torch's Hessians of prod at [0, 2, 3] and [0, 0, 3].
        let h: Tensor = crate::hessian(|x: Tensor| x.prod())(Tensor::new([0.0f64, 2.0, 3.0]));
        let expected = [0.0, 3.0, 2.0, 3.0, 0.0, 0.0, 2.0, 0.0, 0.0];
        assert_eq!(h.to_vec::<f64>(), expected);
        let h: Tensor = crate::hessian(|x: Tensor| x.prod())(Tensor::new([0.0f64, 0.0, 3.0]));
        assert_eq!(h.to_vec::<f64>(), [0.0, 3.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        // One element, many elements (several doubling steps), f32.
        let g: Tensor = crate::grad(|x: Tensor| x.prod())(Tensor::new([5.0f32]));
        assert_eq!(g.to_vec::<f32>(), vec![1.0]);
        let x = Tensor::arange_step(1.0, 12.0, 1.0, DType::F64);
        let g: Tensor = crate::grad(|x: Tensor| x.prod())(x.clone());
        let all: f64 = (1..12).map(f64::from).product();
        let expected: Vec<f64> = (1..12).map(|i| all / f64::from(i)).collect();
        assert_eq!(g.to_vec::<f64>(), expected);
    }
}
