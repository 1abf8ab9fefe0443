//! `max_pool2d`: the maximum over each 2-d window of an NCHW input
//! (`torch.nn.functional.max_pool2d(input, kernel_size, stride, padding, dilation,
//! ceil_mode)`), padding acting as `-inf` and NaN propagating.
//!
//! `out[n, c, i, j] = max_{p, q} x[n, c, i * sh + p * dh - ph, j * sw + q * dw - pw]` over the
//! taps inside the input. Its derivative routes each output's tangent from (cotangent to)
//! the window element that was the maximum, like torch's `max_pool2d_with_indices_backward`;
//! the rules are written with public ops over the window taps (strided slices of the padded
//! input), so ties share the gradient equally (torch picks the first maximum).

use super::conv2d::window_fits;
use super::reshape::reshape_to;
use super::rules::batch_at_front;
use super::slice::{slice_all, unslice};
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::Array;
use crate::array::backend::{self, Pool2dParams};
use crate::error::{Error, Result, OrRaise};
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::{Tensor, bind, try_bind};

/// Max pooling of a 4-d input.
#[derive(Clone, Debug)]
pub(crate) struct MaxPool2d {
    pub(crate) params: Pool2dParams,
}

/// torch's `pooling_output_shape`, or `None` when it is below 1.
fn out_len(
    input: usize,
    k: usize,
    stride: usize,
    pad: usize,
    dil: usize,
    ceil_mode: bool,
) -> Option<usize> {
    let span = dil * (k - 1) + 1;
    // torch floors a possibly negative numerator; a negative one means no output.
    let num = (input + 2 * pad + if ceil_mode { stride - 1 } else { 0 }).checked_sub(span)?;
    let mut len = num / stride + 1;
    // In ceil mode the last window must start inside the input or its left padding.
    if ceil_mode && (len - 1) * stride >= input + pad {
        len -= 1;
    }
    (len >= 1).then_some(len)
}

impl Primitive for MaxPool2d {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let x = inputs[0];
        let Pool2dParams {
            kernel_size: k,
            stride,
            padding: pad,
            dilation,
            ceil_mode,
        } = self.params;
        let err = |msg: String| Err(Error::shape("max_pool2d", msg));
        let value = |msg: String| Err(Error::value("max_pool2d", msg));
        let dtype = |msg: String| Err(Error::dtype("max_pool2d", msg));
        let Ok([n, c, h, w]) = <[usize; 4]>::try_from(x.shape) else {
            return err(format!("internal: expected a 4-d input, got {:?}", x.shape));
        };
        if !x.dtype.is_float() {
            return dtype(format!(
                "not implemented for '{}'; cast the input to a float dtype",
                x.dtype
            ));
        }
        if k.contains(&0) {
            return value(format!(
                "kernel size should be greater than zero, but got kH: {} kW: {}",
                k[0], k[1]
            ));
        }
        if stride.contains(&0) {
            return value(format!(
                "stride should be greater than zero, but got dH: {} dW: {}",
                stride[0], stride[1]
            ));
        }
        if dilation.contains(&0) {
            return value(format!(
                "dilation should be greater than zero, but got dilationH: {} dilationW: {}",
                dilation[0], dilation[1]
            ));
        }
        if c == 0 || h == 0 || w == 0 {
            return err(format!(
                "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got: {:?}",
                x.shape
            ));
        }
        if pad[0] > k[0] / 2 || pad[1] > k[1] / 2 {
            return value(format!(
                "pad should be smaller than or equal to half of kernel size, but got padW = {}, \
                 padH = {}, kW = {}, kH = {}",
                pad[1], pad[0], k[1], k[0]
            ));
        }
        if !window_fits(h, k[0], stride[0], pad[0], dilation[0])
            || !window_fits(w, k[1], stride[1], pad[1], dilation[1])
        {
            return err(format!(
                "kernel_size={k:?}, stride={stride:?} and dilation={dilation:?} overflow the \
                 output size calculation for input {:?}; each padded size and dilated kernel \
                 size must stay below 2^63",
                x.shape
            ));
        }
        match (
            out_len(h, k[0], stride[0], pad[0], dilation[0], ceil_mode),
            out_len(w, k[1], stride[1], pad[1], dilation[1], ceil_mode),
        ) {
            (Some(oh), Some(ow)) => Ok(Aval::new(&[n, c, oh, ow], x.dtype)),
            _ => err(format!(
                "Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{}x{}). Output size \
                 is too small",
                torch_len(h, k[0], stride[0], pad[0], dilation[0], ceil_mode),
                torch_len(w, k[1], stride[1], pad[1], dilation[1], ceil_mode),
            )),
        }
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::max_pool2d(inputs[0], &self.params)
    }

    fn jvp(
        &self,
        primals: &[Tensor],
        output: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Option<Tensor> {
        let t = tangents[0].as_ref()?;
        let w = Windows::new(&self.params, primals[0].shape(), output.shape());
        let masks = w.masks(&primals[0], output);
        let tp = w.pad(t, 0.0);
        let mut acc: Option<Tensor> = None;
        for (k, m) in masks.weights.iter().enumerate() {
            let term = &w.tap(&tp, k) * m;
            acc = Some(match acc {
                Some(a) => &a + &term,
                None => term,
            });
        }
        acc
    }

    fn saves(&self) -> Save {
        Save {
            inputs: 1,
            output: true,
        }
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        if !needed[0] {
            return vec![None];
        }
        let (x, out) = (res.input(0), res.output());
        let w = Windows::new(&self.params, x.shape(), out.shape());
        let masks = w.masks(x, out);
        let mut acc: Option<Tensor> = None;
        for (k, m) in masks.weights.iter().enumerate() {
            let term = w.untap(&(cotangent * m), k);
            acc = Some(match acc {
                Some(a) => &a + &term,
                None => term,
            });
        }
        let padded = acc.expect("a window has at least one tap");
        vec![Some(w.unpad(&padded))]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        // Fold the batch into N.
        let x = batch_at_front(&inputs[0], axes[0], size);
        let s = x.shape().to_vec();
        let folded = reshape_to(&x, &[size * s[1], s[2], s[3], s[4]]);
        let out = bind(self.clone(), &[&folded]);
        let o = out.shape().to_vec();
        (reshape_to(&out, &[size, s[1], o[1], o[2], o[3]]), Some(0))
    }
}

/// The window taps of a pooling: tap `k = p * kw + q` is the `[N, C, oh, ow]` strided slice
/// of the padded input that every window reads at kernel position `(p, q)`.
struct Windows {
    params: Pool2dParams,
    /// Padding before and after (after may be negative: a crop) along H and W.
    lo: [isize; 2],
    hi: [isize; 2],
    /// Output shape.
    out: Vec<usize>,
    /// Padded input shape.
    padded: Vec<usize>,
}

/// Each tap's share of the derivative: `1 / count` where the tap holds its window's
/// maximum, else 0.
struct Masks {
    weights: Vec<Tensor>,
}

impl Windows {
    fn new(params: &Pool2dParams, x_shape: &[usize], out_shape: &[usize]) -> Windows {
        let mut lo = [0isize; 2];
        let mut hi = [0isize; 2];
        let mut padded = x_shape.to_vec();
        for d in 0..2 {
            // Enough room for every tap of every window (ceil mode may overhang).
            let needed = params.stride[d] * (out_shape[2 + d] - 1)
                + params.dilation[d] * (params.kernel_size[d] - 1)
                + 1;
            lo[d] = params.padding[d] as isize;
            hi[d] = needed as isize - x_shape[2 + d] as isize - lo[d];
            padded[2 + d] = needed;
        }
        Windows {
            params: *params,
            lo,
            hi,
            out: out_shape.to_vec(),
            padded,
        }
    }

    fn taps(&self) -> usize {
        self.params.kernel_size[0] * self.params.kernel_size[1]
    }

    /// `x` padded with `value` to the padded shape.
    fn pad(&self, x: &Tensor, value: f64) -> Tensor {
        super::pad::pad(x, &[self.lo[1], self.hi[1], self.lo[0], self.hi[0]], value)
    }

    /// The inverse crop of [`Windows::pad`].
    fn unpad(&self, x: &Tensor) -> Tensor {
        super::pad::pad(
            x,
            &[-self.lo[1], -self.hi[1], -self.lo[0], -self.hi[0]],
            0.0,
        )
    }

    fn start(&self, k: usize) -> [usize; 4] {
        let (p, q) = (
            k / self.params.kernel_size[1],
            k % self.params.kernel_size[1],
        );
        [
            0,
            0,
            p * self.params.dilation[0],
            q * self.params.dilation[1],
        ]
    }

    fn step(&self) -> [usize; 4] {
        [1, 1, self.params.stride[0], self.params.stride[1]]
    }

    /// Tap `k` of a padded tensor.
    fn tap(&self, padded: &Tensor, k: usize) -> Tensor {
        let start = self.start(k);
        let step = self.step();
        let limit: Vec<usize> = (0..4)
            .map(|d| {
                if d < 2 {
                    self.out[d]
                } else {
                    start[d] + step[d] * (self.out[d] - 1) + 1
                }
            })
            .collect();
        slice_all(padded, &start, &limit, &step)
    }

    /// The adjoint of [`Windows::tap`]: `t` placed back into a zero padded tensor.
    fn untap(&self, t: &Tensor, k: usize) -> Tensor {
        unslice(t, &self.padded, &self.start(k), &self.step())
    }

    fn masks(&self, x: &Tensor, out: &Tensor) -> Masks {
        let xp = self.pad(x, f64::NEG_INFINITY);
        let hits: Vec<Tensor> = (0..self.taps())
            .map(|k| self.tap(&xp, k).eq(out).to_dtype(x.dtype()))
            .collect();
        let mut count = hits[0].clone();
        for h in &hits[1..] {
            count = &count + h;
        }
        Masks {
            weights: hits.iter().map(|h| h / &count).collect(),
        }
    }
}

/// torch's (signed) output length, for the error message only.
fn torch_len(
    input: usize,
    k: usize,
    stride: usize,
    pad: usize,
    dil: usize,
    ceil_mode: bool,
) -> i64 {
    let num = (input + 2 * pad) as i64 - (dil * (k - 1) + 1) as i64
        + if ceil_mode { stride as i64 - 1 } else { 0 };
    let mut len = num.div_euclid(stride as i64) + 1;
    if ceil_mode && (len - 1) * stride as i64 >= (input + pad) as i64 {
        len -= 1;
    }
    len
}

/// Like [`max_pool2d`], returning an error instead of panicking.
pub fn try_max_pool2d(
    input: &Tensor,
    kernel_size: [usize; 2],
    stride: Option<[usize; 2]>,
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil_mode: bool,
) -> Result<Tensor> {
    let unbatched = match input.dim() {
        3 => true,
        4 => false,
        _ => {
            return Err(Error::shape(
                "max_pool2d",
                format!(
                    "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got: {:?}",
                    input.shape()
                ),
            ));
        }
    };
    let params = Pool2dParams {
        kernel_size,
        stride: stride.unwrap_or(kernel_size),
        padding,
        dilation,
        ceil_mode,
    };
    let x = if unbatched {
        input.unsqueeze(0)
    } else {
        input.clone()
    };
    let out = try_bind(MaxPool2d { params }, &[&x])?;
    Ok(if unbatched { out.squeeze_dim(0) } else { out })
}

/// 2-d max pooling as in `torch.nn.functional.max_pool2d(input, kernel_size, stride,
/// padding, dilation, ceil_mode)`: `input` is `[N, C, H, W]` or unbatched `[C, H, W]`;
/// `stride: None` means `kernel_size` (torch's default); padding (at most half the kernel)
/// acts as `-inf`; `ceil_mode` keeps a last window that overhangs the input. Float dtypes;
/// NaN propagates.
///
/// # Panics
/// On invalid parameters or a too-small input, with torch's message.
///
/// ```
/// # use cotangent::{Tensor, max_pool2d};
/// let x = Tensor::arange(16).to_dtype(cotangent::DType::F32).reshape(&[1, 4, 4]);
/// let y = max_pool2d(&x, [2, 2], None, [0, 0], [1, 1], false);
/// assert_eq!(y.to_vec::<f32>(), vec![5.0, 7.0, 13.0, 15.0]);
/// ```
#[track_caller]
pub fn max_pool2d(
    input: &Tensor,
    kernel_size: [usize; 2],
    stride: Option<[usize; 2]>,
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil_mode: bool,
) -> Tensor {
    try_max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)
        .or_raise()
}

/// Reference max pooling with plain loops; `x` is `[n, c, h, w]` or `[c, h, w]`.
pub(crate) fn reference_max_pool2d(x: &RefArray, p: Pool2dParams) -> RefArray {
    let unbatched = x.shape.len() == 3;
    let xs: Vec<usize> = if unbatched {
        [&[1][..], &x.shape[..]].concat()
    } else {
        x.shape.clone()
    };
    let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
    let len = |input: usize, a: usize| {
        let (k, s, pad, d) = (p.kernel_size[a], p.stride[a], p.padding[a], p.dilation[a]);
        // torch: floor((input + 2 pad - eff + (ceil ? s - 1 : 0)) / s) + 1, then drop a last
        // window that would start in the right padding.
        let eff = (d * (k - 1) + 1) as i64;
        let extra = if p.ceil_mode { s as i64 - 1 } else { 0 };
        let mut o = ((input + 2 * pad) as i64 - eff + extra).div_euclid(s as i64) + 1;
        if p.ceil_mode && (o - 1) * s as i64 >= (input + pad) as i64 {
            o -= 1;
        }
        usize::try_from(o).expect("reference: valid pooling")
    };
    let (oh, ow) = (len(h, 0), len(w, 1));
    let mut out = Vec::with_capacity(n * c * oh * ow);
    for b in 0..n {
        for ch in 0..c {
            for i in 0..oh {
                for j in 0..ow {
                    let mut m = f64::NEG_INFINITY;
                    for ki in 0..p.kernel_size[0] {
                        for kj in 0..p.kernel_size[1] {
                            let ih = (i * p.stride[0] + ki * p.dilation[0]) as isize
                                - p.padding[0] as isize;
                            let iw = (j * p.stride[1] + kj * p.dilation[1]) as isize
                                - p.padding[1] as isize;
                            if ih >= 0 && iw >= 0 && (ih as usize) < h && (iw as usize) < w {
                                let v = x.data[((b * c + ch) * h + ih as usize) * w + iw as usize];
                                if v > m || v.is_nan() {
                                    m = v;
                                }
                            }
                        }
                    }
                    out.push(m);
                }
            }
        }
    }
    let shape = if unbatched {
        vec![c, oh, ow]
    } else {
        vec![n, c, oh, ow]
    };
    RefArray { shape, data: out }
}

/// One op-table entry for fixed pooling parameters.
fn entry(
    name: &str,
    p: Pool2dParams,
    default_stride: bool,
    samples: &'static [&'static [usize]],
) -> OpInfo {
    OpInfo::new(
        name,
        move |a| {
            let stride = (!default_stride).then_some(p.stride);
            max_pool2d(
                &a[0],
                p.kernel_size,
                stride,
                p.padding,
                p.dilation,
                p.ceil_mode,
            )
        },
        move |r| reference_max_pool2d(&r[0], p),
        move |rng: &mut TestRng| {
            samples
                .iter()
                .map(|s| vec![rng.tensor(s, -1.0, 1.0)])
                .collect()
        },
    )
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let p = |k: usize, s: usize, pad: usize, d: usize, ceil_mode: bool| Pool2dParams {
        kernel_size: [k, k + 1],
        stride: [s, s + 1],
        padding: [pad, pad],
        dilation: [d, d],
        ceil_mode,
    };
    let square = Pool2dParams {
        kernel_size: [2, 2],
        stride: [2, 2],
        padding: [0, 0],
        dilation: [1, 1],
        ceil_mode: false,
    };
    vec![
        entry(
            "max_pool2d",
            square,
            true,
            &[&[2, 3, 6, 5], &[3, 4, 4], &[0, 2, 4, 4], &[1, 1, 2, 2]],
        ),
        entry(
            "max_pool2d_stride_padding",
            p(3, 2, 1, 1, false),
            false,
            &[&[2, 2, 7, 8], &[3, 5, 5]],
        ),
        entry(
            "max_pool2d_dilation",
            p(2, 1, 1, 2, false),
            false,
            &[&[1, 3, 7, 9], &[2, 6, 6]],
        ),
        entry(
            "max_pool2d_ceil_mode",
            p(3, 2, 1, 1, true),
            false,
            &[&[2, 2, 6, 7], &[1, 1, 5, 5], &[2, 2, 2]],
        ),
        entry(
            "max_pool2d_ceil_overhang",
            Pool2dParams {
                kernel_size: [2, 4],
                stride: [2, 3],
                padding: [0, 0],
                dilation: [1, 1],
                ceil_mode: true,
            },
            false,
            &[&[1, 2, 1, 3], &[2, 3, 5]],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::DType;

    fn err(r: Result<Tensor>) -> String {
        r.expect_err("expected an error").to_string()
    }

    #[test]
    fn errors_follow_torch() {
        let z = Tensor::zeros;
        let e = err(try_max_pool2d(
            &z(&[1, 1, 4, 4]),
            [3, 3],
            None,
            [2, 2],
            [1, 1],
            false,
        ));
        assert!(e.contains("pad should be smaller than or equal to half of kernel size, but got padW = 2, padH = 2, kW = 3, kH = 3"), "{e}");
        let e = err(try_max_pool2d(
            &z(&[3, 2, 2]),
            [3, 3],
            None,
            [0, 0],
            [1, 1],
            false,
        ));
        assert!(e.contains("Given input size: (3x2x2). Calculated output size: (3x0x0). Output size is too small"), "{e}");
        let e = err(try_max_pool2d(
            &z(&[1, 0, 4, 4]),
            [2, 2],
            None,
            [0, 0],
            [1, 1],
            false,
        ));
        assert!(e.contains("Expected 3D or 4D (batch mode) tensor"), "{e}");
        let e = err(try_max_pool2d(
            &z(&[4, 4]),
            [2, 2],
            None,
            [0, 0],
            [1, 1],
            false,
        ));
        assert!(e.contains("Expected 3D or 4D (batch mode) tensor"), "{e}");
        let e = err(try_max_pool2d(
            &z(&[1, 4, 4]),
            [2, 0],
            None,
            [0, 0],
            [1, 1],
            false,
        ));
        assert!(e.contains("kernel size should be greater than zero"), "{e}");
        let e = err(try_max_pool2d(
            &z(&[1, 4, 4]),
            [2, 2],
            Some([0, 1]),
            [0, 0],
            [1, 1],
            false,
        ));
        assert!(e.contains("stride should be greater than zero"), "{e}");
        let e = err(try_max_pool2d(
            &Tensor::arange(16).reshape(&[1, 4, 4]),
            [2, 2],
            None,
            [0, 0],
            [1, 1],
            false,
        ));
        assert!(e.contains("torch.int64"), "{e}");
    }

    #[test]
    fn nan_propagates_and_padding_is_neg_inf() {
        let x = Tensor::from_slice(&[-5.0f64, f64::NAN, -3.0, -4.0], &[1, 2, 2]).expect("data");
        let y = max_pool2d(&x, [2, 2], Some([1, 1]), [1, 1], [1, 1], false).to_vec::<f64>();
        assert_eq!(y.len(), 9);
        assert_eq!(y[0], -5.0);
        assert!(y[1].is_nan() && y[4].is_nan());
        assert_eq!(y[6], -3.0);
        assert_eq!(x.to_dtype(DType::F32).dtype(), DType::F32);
    }

    #[test]
    fn ceil_mode_shapes_follow_torch() {
        let y = |h: usize, k: usize, s: usize, p: usize| {
            max_pool2d(
                &Tensor::zeros(&[1, h, h]),
                [k, k],
                Some([s, s]),
                [p, p],
                [1, 1],
                true,
            )
            .shape()[1]
        };
        assert_eq!(y(5, 2, 2, 0), 3);
        assert_eq!(y(1, 2, 2, 0), 1);
        assert_eq!(y(5, 2, 3, 1), 2);
        assert_eq!(y(6, 3, 2, 1), 4);
    }
}
