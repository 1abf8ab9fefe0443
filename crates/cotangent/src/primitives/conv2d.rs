//! `conv2d`: 2-d cross-correlation of an NCHW input with a `[c_out, c_in / groups, kh, kw]`
//! weight, with stride, zero padding, dilation and channel groups
//! (`torch.nn.functional.conv2d`; the bias is added by the public op, outside the primitive).
//!
//! `out[n, o, i, j] = sum_{c, p, q} w[o, c, p, q] *
//! x[n, g * cg + c, i * sh + p * dh - ph, j * sw + q * dw - pw]` where `g = o / (c_out /
//! groups)`, `cg = c_in / groups`, and taps outside the input read zero.
//!
//! It is bilinear in `(x, w)`. The cotangent of `x` is a transposed convolution of the output
//! cotangent with the flipped weight (a conv with swapped channel roles, input dilation =
//! stride), and the cotangent of `w` is a conv of `x` with the output cotangent as the kernel
//! (its stride becoming the dilation); the JVP is `conv(dx, w) + conv(x, dw)`.

use super::reshape::reshape_to;
use super::rules::{add_opt, batch_at_front};
use super::{Aval, AvalRef, Primitive, Residuals, Save};
use crate::array::Array;
use crate::array::backend::{self, Conv2dParams};
use crate::error::{Error, Result, OrRaise};
use crate::testing::{OpInfo, RefArray, TestRng};
use crate::trace::{Tensor, bind, try_bind};

/// Convolution of a 4-d input with a 4-d weight, no bias.
#[derive(Clone, Debug)]
pub(crate) struct Conv2d {
    pub(crate) params: Conv2dParams,
}

/// `(in + 2 * pad - dil * (k - 1) - 1) / stride + 1`, or `None` if the padded input is
/// smaller than the dilated kernel.
fn out_len(input: usize, k: usize, stride: usize, pad: usize, dil: usize) -> Option<usize> {
    (input + 2 * pad)
        .checked_sub(dil * (k - 1) + 1)
        .map(|x| x / stride + 1)
}

/// Whether a window geometry fits the arithmetic of the shape rule and of the derivative
/// rules (which pad and crop by signed amounts): the padded input plus one stride, and the
/// dilated kernel, are at most `isize::MAX`. Shared with `max_pool2d`.
pub(crate) fn window_fits(input: usize, k: usize, stride: usize, pad: usize, dil: usize) -> bool {
    let limit = isize::MAX as usize;
    let padded = pad
        .checked_mul(2)
        .and_then(|p| p.checked_add(input))
        .and_then(|p| p.checked_add(stride));
    let span = k
        .checked_sub(1)
        .and_then(|k| k.checked_mul(dil))
        .and_then(|s| s.checked_add(1));
    matches!((padded, span), (Some(p), Some(s)) if p <= limit && s <= limit)
}

impl Primitive for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d"
    }

    fn shape_rule(&self, inputs: &[AvalRef<'_>]) -> Result<Aval> {
        let (x, w) = (inputs[0], inputs[1]);
        let Conv2dParams {
            stride,
            padding,
            dilation,
            groups,
        } = self.params;
        let err = |msg: String| Err(Error::shape("conv2d", msg));
        let value = |msg: String| Err(Error::value("conv2d", msg));
        let dtype = |msg: String| Err(Error::dtype("conv2d", msg));
        if x.shape.len() != 4 || w.shape.len() != 4 {
            return err(format!(
                "internal: expected 4-d input and weight, got {:?} and {:?}",
                x.shape, w.shape
            ));
        }
        if x.dtype != w.dtype || !x.dtype.is_float() {
            return dtype(format!(
                "not implemented for input '{}' and weight '{}'; cast both to one float dtype",
                x.dtype, w.dtype
            ));
        }
        if groups == 0 {
            return value("non-positive groups is not supported".into());
        }
        if stride.contains(&0) {
            return value(format!(
                "non-positive stride is not supported, got stride={stride:?}"
            ));
        }
        if dilation.contains(&0) {
            return value(format!(
                "dilation should be greater than zero, got dilation={dilation:?}"
            ));
        }
        let ([n, c, h, wd], [o, cg, kh, kw]) = (
            <[usize; 4]>::try_from(x.shape).expect("4-d"),
            <[usize; 4]>::try_from(w.shape).expect("4-d"),
        );
        if o % groups != 0 {
            return err(format!(
                "Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, \
                 but got weight of size {:?} instead",
                w.shape
            ));
        }
        if cg.checked_mul(groups) != Some(c) {
            return err(format!(
                "Given groups={groups}, weight of size {:?}, expected input{:?} to have {} channels, \
                 but got {c} channels instead",
                w.shape,
                x.shape,
                cg as u128 * groups as u128
            ));
        }
        if kh == 0 || kw == 0 {
            return value(format!(
                "kernel size must be positive, but got weight of size {:?}",
                w.shape
            ));
        }
        if !window_fits(h, kh, stride[0], padding[0], dilation[0])
            || !window_fits(wd, kw, stride[1], padding[1], dilation[1])
        {
            return err(format!(
                "padding={padding:?}, stride={stride:?} and dilation={dilation:?} overflow the \
                 output size calculation for input {:?} and weight {:?}; each padded size and \
                 dilated kernel size must stay below 2^63",
                x.shape, w.shape
            ));
        }
        match (
            out_len(h, kh, stride[0], padding[0], dilation[0]),
            out_len(wd, kw, stride[1], padding[1], dilation[1]),
        ) {
            (Some(oh), Some(ow)) => Ok(Aval::new(&[n, o, oh, ow], x.dtype)),
            _ => err(format!(
                "Calculated padded input size per channel: ({} x {}). Kernel size: ({} x {}). \
                 Kernel size can't be greater than actual input size",
                h + 2 * padding[0],
                wd + 2 * padding[1],
                dilation[0] * (kh - 1) + 1,
                dilation[1] * (kw - 1) + 1
            )),
        }
    }

    fn eval(&self, inputs: &[&Array], _out: &Aval) -> Array {
        backend::conv2d(inputs[0], inputs[1], &self.params)
    }

    fn jvp(&self, primals: &[Tensor], _: &Tensor, tangents: &[Option<Tensor>]) -> Option<Tensor> {
        add_opt(
            tangents[0]
                .as_ref()
                .map(|t| conv(t, &primals[1], self.params)),
            tangents[1]
                .as_ref()
                .map(|t| conv(&primals[0], t, self.params)),
        )
    }

    fn saves(&self) -> Save {
        Save::INPUTS
    }

    fn vjp(&self, res: &Residuals, cotangent: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        if [res.shape(0), res.shape(1), cotangent.shape()]
            .iter()
            .any(|s| s.contains(&0))
        {
            // Every sum is empty (or there is nothing to fill): the cotangents are zero. This
            // also keeps zero-size inner dims away from the kernel.
            return vec![None, None];
        }
        let x_bar =
            needed[0].then(|| input_grad(cotangent, res.input(1), res.shape(0), self.params));
        let w_bar =
            needed[1].then(|| weight_grad(cotangent, res.input(0), res.shape(1), self.params));
        vec![x_bar, w_bar]
    }

    fn vmap(
        &self,
        inputs: &[Tensor],
        axes: &[Option<usize>],
        size: usize,
    ) -> (Tensor, Option<usize>) {
        let p = self.params;
        let g = p.groups;
        match (axes[0], axes[1]) {
            (Some(a), None) => {
                // Fold the batch into N.
                let x = batch_at_front(&inputs[0], Some(a), size);
                let s = x.shape().to_vec();
                let folded = reshape_to(&x, &[size * s[1], s[2], s[3], s[4]]);
                let out = conv(&folded, &inputs[1], p);
                let o = out.shape().to_vec();
                (reshape_to(&out, &[size, s[1], o[1], o[2], o[3]]), Some(0))
            }
            (None, Some(a)) => {
                // Fold the batch into the output channels, keeping them group-major:
                // [B, G, O/G, ...] -> [G, B, O/G, ...].
                let w = batch_at_front(&inputs[1], Some(a), size);
                let s = w.shape().to_vec();
                let og = s[1] / g;
                let w = reshape_to(&w, &[size, g, og, s[2], s[3], s[4]]).transpose(0, 1);
                let w = reshape_to(&w, &[g * size * og, s[2], s[3], s[4]]);
                let out = conv(&inputs[0], &w, p);
                let o = out.shape().to_vec();
                let out = reshape_to(&out, &[o[0], g, size, og, o[2], o[3]]).transpose(1, 2);
                (reshape_to(&out, &[o[0], size, s[1], o[2], o[3]]), Some(1))
            }
            _ => {
                // Both batched: each batch element becomes its own set of groups.
                let x = batch_at_front(&inputs[0], axes[0], size);
                let w = batch_at_front(&inputs[1], axes[1], size);
                let xs = x.shape().to_vec();
                let ws = w.shape().to_vec();
                if size == 0 {
                    // No groups to fold: the shape of one element's output, with no elements.
                    let one = conv(
                        &x.new_zeros(&xs[1..]),
                        &w.new_zeros(&ws[1..]),
                        p,
                    );
                    let o = one.shape();
                    let empty = one.new_zeros(&[o[0], 0, o[1], o[2], o[3]]);
                    return (empty, Some(1));
                }
                let x = reshape_to(&x.transpose(0, 1), &[xs[1], size * xs[2], xs[3], xs[4]]);
                let w = reshape_to(&w, &[size * ws[1], ws[2], ws[3], ws[4]]);
                let params = Conv2dParams {
                    groups: size * g,
                    ..p
                };
                let out = conv(&x, &w, params);
                let o = out.shape().to_vec();
                (reshape_to(&out, &[o[0], size, ws[1], o[2], o[3]]), Some(1))
            }
        }
    }
}

/// The primitive on canonical operands.
fn conv(x: &Tensor, w: &Tensor, params: Conv2dParams) -> Tensor {
    bind(Conv2d { params }, &[x, w])
}

/// The cotangent of the input (shape `x_shape`): a transposed convolution, written as a
/// stride-1 conv of the stride-dilated, padded cotangent with the flipped weight whose
/// channel roles are swapped within each group.
fn input_grad(ct: &Tensor, w: &Tensor, x_shape: &[usize], p: Conv2dParams) -> Tensor {
    let g = p.groups;
    let ws = w.shape().to_vec();
    let (o, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let og = o / g;
    // [O, C/G, kh, kw] -> [G, O/G, C/G, ..] -> [G, C/G, O/G, ..] -> [C, O/G, kh, kw], flipped.
    let wt = reshape_to(w, &[g, og, cg, kh, kw]).transpose(1, 2);
    let wt = reshape_to(&wt, &[g * cg, og, kh, kw]).flip(&[2, 3]);
    let cs = ct.shape().to_vec();
    // Interior zeros for the stride.
    let dilated_shape = [
        cs[0],
        cs[1],
        (cs[2] - 1) * p.stride[0] + 1,
        (cs[3] - 1) * p.stride[1] + 1,
    ];
    let dilated = super::slice::unslice(
        ct,
        &dilated_shape,
        &[0; 4],
        &[1, 1, p.stride[0], p.stride[1]],
    );
    // Pad (or crop) so that a stride-1 conv with the original dilation gives x's size.
    let mut pads = Vec::with_capacity(4);
    for d in [1, 0] {
        let span = (p.dilation[d] * (ws[2 + d] - 1)) as isize;
        let lo = span - p.padding[d] as isize;
        let hi = x_shape[2 + d] as isize + span - lo - dilated_shape[2 + d] as isize;
        pads.push(lo);
        pads.push(hi);
    }
    let padded = super::pad::pad(&dilated, &pads, 0.0);
    let params = Conv2dParams {
        stride: [1, 1],
        padding: [0, 0],
        dilation: p.dilation,
        groups: g,
    };
    conv(&padded, &wt, params)
}

/// The cotangent of the weight (shape `w_shape`): a conv of the input, with batch and
/// channels swapped, by the output cotangent as the kernel (stride and dilation swapping
/// roles), cropped to the kernel size.
fn weight_grad(ct: &Tensor, x: &Tensor, w_shape: &[usize], p: Conv2dParams) -> Tensor {
    let g = p.groups;
    let xs = x.shape().to_vec();
    let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let cg = c / g;
    // [N, C, H, W] -> [N, G, C/G, H, W] -> [C/G, G, N, H, W] -> [C/G, G*N, H, W].
    let xt = reshape_to(x, &[n, g, cg, h, wd]).permute(&[2, 1, 0, 3, 4]);
    let xt = reshape_to(&xt, &[cg, g * n, h, wd]);
    let kt = ct.transpose(0, 1);
    let params = Conv2dParams {
        stride: p.dilation,
        padding: p.padding,
        dilation: p.stride,
        groups: g,
    };
    // [C/G, O, kh', kw'] with kh' >= kh.
    let out = conv(&xt, &kt, params);
    let out = out.narrow(2, 0, w_shape[2]).narrow(3, 0, w_shape[3]);
    out.transpose(0, 1)
}

/// Like [`conv2d`], returning an error instead of panicking.
pub fn try_conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
) -> Result<Tensor> {
    let unbatched = match input.dim() {
        3 => true,
        4 => false,
        _ => {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: {:?}",
                    input.shape()
                ),
            ));
        }
    };
    if weight.dim() != 4 {
        return Err(Error::shape(
            "conv2d",
            format!(
                "expected a 4-d weight [out_channels, in_channels / groups, kH, kW], but got \
                 weight of size {:?}",
                weight.shape()
            ),
        ));
    }
    let c_out = weight.shape()[0];
    let mut dtype = input.dtype().promote(weight.dtype());
    if let Some(b) = bias {
        if b.shape() != [c_out] {
            return Err(Error::shape(
                "conv2d",
                format!(
                    "Given weight of size {:?}, expected bias to be 1-dimensional with {c_out} \
                     elements, but got bias of size {:?} instead",
                    weight.shape(),
                    b.shape()
                ),
            ));
        }
        dtype = dtype.promote(b.dtype());
    }
    if !dtype.is_float() {
        return Err(Error::dtype(
            "conv2d",
            format!(
                "not implemented for '{dtype}'; cast input and weight to a float dtype"
            ),
        ));
    }
    let x = input.to_dtype(dtype);
    let x = if unbatched { x.unsqueeze(0) } else { x };
    let params = Conv2dParams {
        stride,
        padding,
        dilation,
        groups,
    };
    let mut out = try_bind(Conv2d { params }, &[&x, &weight.to_dtype(dtype)])?;
    if let Some(b) = bias {
        out = &out + &b.to_dtype(dtype).reshape(&[1, c_out as isize, 1, 1]);
    }
    Ok(if unbatched { out.squeeze_dim(0) } else { out })
}

/// 2-d convolution (cross-correlation) as in `torch.nn.functional.conv2d(input, weight,
/// bias, stride, padding, dilation, groups)`: `input` is `[N, C_in, H, W]` or unbatched
/// `[C_in, H, W]`, `weight` is `[C_out, C_in / groups, kH, kW]`, `bias` is `[C_out]`.
/// Padding is zeros on both sides. Float dtypes (promoted across the operands).
///
/// # Panics
/// On inconsistent shapes or parameters, with torch's message ("Given groups=1, weight of
/// size [4, 3, 3, 3], expected input[1, 2, 5, 5] to have 3 channels, but got 2 channels
/// instead").
///
/// ```
/// # use cotangent::{Tensor, conv2d};
/// let x = Tensor::ones(&[1, 2, 5, 5]);
/// let w = Tensor::ones(&[4, 2, 3, 3]);
/// let y = conv2d(&x, &w, None, [1, 1], [1, 1], [1, 1], 1);
/// assert_eq!(y.shape(), &[1, 4, 5, 5]);
/// assert_eq!(y.to_vec::<f32>()[6], 18.0); // an interior 3x3 window over 2 channels
/// ```
#[track_caller]
pub fn conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
) -> Tensor {
    try_conv2d(input, weight, bias, stride, padding, dilation, groups)
        .or_raise()
}

/// Reference convolution with plain loops: `x` `[n, c, h, w]` (or unbatched `[c, h, w]`),
/// `w` `[o, c / groups, kh, kw]`, optional bias `[o]`.
pub(crate) fn reference_conv2d(
    x: &RefArray,
    w: &RefArray,
    bias: Option<&RefArray>,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
) -> RefArray {
    let unbatched = x.shape.len() == 3;
    let xs: Vec<usize> = if unbatched {
        [&[1][..], &x.shape[..]].concat()
    } else {
        x.shape.clone()
    };
    let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3]);
    let og = o / groups;
    let oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) / stride[0] + 1;
    let ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) / stride[1] + 1;
    assert_eq!(cg * groups, c, "reference: channels");
    let xget = |b: usize, ch: usize, i: usize, j: usize| x.data[((b * c + ch) * h + i) * wd + j];
    let mut out = vec![0.0; n * o * oh * ow];
    for b in 0..n {
        for oc in 0..o {
            let g = oc / og;
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = bias.map_or(0.0, |bs| bs.data[oc]);
                    for ci in 0..cg {
                        for p in 0..kh {
                            for q in 0..kw {
                                let ih = (i * stride[0] + p * dilation[0]) as isize
                                    - padding[0] as isize;
                                let iw = (j * stride[1] + q * dilation[1]) as isize
                                    - padding[1] as isize;
                                if ih >= 0 && iw >= 0 && (ih as usize) < h && (iw as usize) < wd {
                                    let xv = xget(b, g * cg + ci, ih as usize, iw as usize);
                                    acc += xv * w.get(&[oc, ci, p, q]);
                                }
                            }
                        }
                    }
                    out[((b * o + oc) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    let shape = if unbatched {
        vec![o, oh, ow]
    } else {
        vec![n, o, oh, ow]
    };
    RefArray { shape, data: out }
}

/// One op-table entry for a fixed set of conv parameters.
fn entry(
    name: &str,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
    with_bias: bool,
    samples: fn(&mut TestRng) -> Vec<Vec<Tensor>>,
) -> OpInfo {
    OpInfo::new(
        name,
        move |a| {
            conv2d(
                &a[0],
                &a[1],
                with_bias.then(|| &a[2]),
                stride,
                padding,
                dilation,
                groups,
            )
        },
        move |r| {
            reference_conv2d(
                &r[0],
                &r[1],
                with_bias.then(|| &r[2]),
                stride,
                padding,
                dilation,
                groups,
            )
        },
        samples,
    )
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    vec![
        entry("conv2d", [1, 1], [0, 0], [1, 1], 1, true, |rng| {
            let t = |rng: &mut TestRng, s: &[usize]| rng.tensor(s, -1.0, 1.0);
            vec![
                vec![t(rng, &[2, 3, 6, 5]), t(rng, &[4, 3, 3, 2]), t(rng, &[4])],
                vec![t(rng, &[3, 5, 5]), t(rng, &[2, 3, 3, 3]), t(rng, &[2])],
                vec![t(rng, &[0, 3, 4, 4]), t(rng, &[2, 3, 1, 1]), t(rng, &[2])],
                vec![t(rng, &[1, 2, 3, 3]), t(rng, &[3, 2, 3, 3]), t(rng, &[3])],
            ]
        }),
        entry(
            "conv2d_stride_padding",
            [2, 1],
            [1, 2],
            [1, 1],
            1,
            false,
            |rng| {
                let t = |rng: &mut TestRng, s: &[usize]| rng.tensor(s, -1.0, 1.0);
                vec![
                    vec![t(rng, &[2, 3, 7, 5]), t(rng, &[4, 3, 3, 3])],
                    vec![t(rng, &[2, 1, 1]), t(rng, &[3, 2, 2, 2])],
                    vec![t(rng, &[1, 2, 4, 4]), t(rng, &[2, 2, 1, 1])],
                ]
            },
        ),
        entry(
            "conv2d_dilation_groups",
            [1, 2],
            [1, 0],
            [2, 1],
            2,
            true,
            |rng| {
                let t = |rng: &mut TestRng, s: &[usize]| rng.tensor(s, -1.0, 1.0);
                vec![
                    vec![t(rng, &[2, 4, 7, 6]), t(rng, &[6, 2, 2, 3]), t(rng, &[6])],
                    vec![t(rng, &[4, 5, 5]), t(rng, &[2, 2, 3, 1]), t(rng, &[2])],
                ]
            },
        ),
        entry(
            "conv2d_depthwise",
            [1, 1],
            [1, 1],
            [1, 1],
            3,
            false,
            |rng| {
                let t = |rng: &mut TestRng, s: &[usize]| rng.tensor(s, -1.0, 1.0);
                vec![
                    vec![t(rng, &[2, 3, 4, 5]), t(rng, &[3, 1, 3, 3])],
                    vec![t(rng, &[1, 3, 9, 9]), t(rng, &[6, 1, 3, 3])],
                ]
            },
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
        // (input, weight, bias shapes, stride, padding, dilation, groups, torch's message)
        type Case<'a> = (
            &'a [usize],
            &'a [usize],
            Option<&'a [usize]>,
            [usize; 2],
            [usize; 2],
            [usize; 2],
            usize,
            &'a str,
        );
        let cases: [Case; 7] = [
            (&[1, 2, 5, 5][..], &[4, 3, 3, 3][..], None, [1, 1], [0, 0], [1, 1], 1, "Given groups=1, weight of size [4, 3, 3, 3], expected input[1, 2, 5, 5] to have 3 channels, but got 2 channels instead"),
            (&[2, 5, 5][..], &[4, 3, 3, 3][..], None, [1, 1], [0, 0], [1, 1], 1, "expected input[1, 2, 5, 5] to have 3 channels"),
            (&[1, 4, 5, 5][..], &[3, 2, 3, 3][..], None, [1, 1], [0, 0], [1, 1], 2, "expected weight to be divisible by 2 at dimension 0"),
            (&[1, 1, 2, 2][..], &[1, 1, 3, 3][..], None, [1, 1], [0, 0], [1, 1], 1, "Kernel size can't be greater than actual input size"),
            (&[1, 1, 4, 4][..], &[2, 1, 3, 3][..], Some(&[3][..]), [1, 1], [0, 0], [1, 1], 1, "expected bias to be 1-dimensional with 2 elements"),
            (&[1, 1, 4, 4][..], &[2, 1, 3, 3][..], None, [0, 1], [0, 0], [1, 1], 1, "non-positive stride"),
            (&[4, 4][..], &[2, 1, 3, 3][..], None, [1, 1], [0, 0], [1, 1], 1, "Expected 3D (unbatched) or 4D (batched) input"),
        ];
        for (x, w, bias, stride, padding, dilation, groups, msg) in cases {
            let bias = bias.map(z);
            let e = err(try_conv2d(
                &z(x),
                &z(w),
                bias.as_ref(),
                stride,
                padding,
                dilation,
                groups,
            ));
            assert!(e.contains(msg), "{e}");
        }
        let i = Tensor::arange(16).reshape(&[1, 1, 4, 4]);
        let e = err(try_conv2d(
            &i,
            &i.slice(2, 0, 3, 1).slice(3, 0, 3, 1),
            None,
            [1, 1],
            [0, 0],
            [1, 1],
            1,
        ));
        assert!(e.contains("torch.int64"), "{e}");
    }

    #[test]
    fn large_conv_matches_reference() {
        // Enough work for the kernel's threaded paths.
        let mut rng = TestRng::new(11);
        let x = rng.tensor(&[3, 8, 20, 18], -1.0, 1.0);
        let w = rng.tensor(&[16, 4, 3, 3], -1.0, 1.0);
        let got = conv2d(&x, &w, None, [1, 2], [1, 1], [1, 1], 2);
        let want = reference_conv2d(
            &RefArray::of(&x),
            &RefArray::of(&w),
            None,
            [1, 2],
            [1, 1],
            [1, 1],
            2,
        );
        assert_eq!(got.shape(), want.shape.as_slice());
        for (g, w) in got.to_vec::<f64>().iter().zip(&want.data) {
            assert!((g - w).abs() < 1e-10);
        }
    }

    #[test]
    fn mixed_float_dtypes_promote() {
        let y = conv2d(
            &Tensor::ones(&[1, 1, 3, 3]),
            &Tensor::ones(&[1, 1, 3, 3]).to_dtype(DType::F64),
            None,
            [1, 1],
            [0, 0],
            [1, 1],
            1,
        );
        assert_eq!(y.dtype(), DType::F64);
        assert_eq!(y.to_vec::<f64>(), vec![9.0]);
    }
}
