//! `one_hot`: class indices to indicator vectors (torch's `F.one_hot`), written as a
//! broadcast comparison of the indices against `0..num_classes`.

use crate::array::DType;
use crate::error::{Error, OrRaise, raise};
use crate::testing::{OpInfo, RefArray};
use crate::trace::Tensor;

/// `i64` indicators of shape `x.shape + [num_classes]`: `out[..., c] = (x[...] == c)`
/// (`F.one_hot`). `num_classes = -1` takes the largest class in `x` plus one, as in torch.
///
/// NB: checking the class range reads the values of `x` (as torch does), so with
/// `num_classes = -1` the output shape depends on the data.
///
/// # Panics
/// If `x` is not `i64`, holds a negative value or one not below `num_classes`, or is empty
/// with `num_classes = -1`, with torch's messages.
///
/// ```
/// # use cotangent::{Tensor, one_hot};
/// let y = one_hot(&Tensor::new([0i64, 2]), 3);
/// assert_eq!(y.to_vec::<i64>(), vec![1, 0, 0, 0, 0, 1]);
/// assert_eq!(one_hot(&Tensor::new([1i64]), -1).shape(), &[1, 2]);
/// ```
#[track_caller]
pub fn one_hot(x: &Tensor, num_classes: i64) -> Tensor {
    if x.dtype() != DType::I64 {
        raise(Error::dtype(
            "one_hot",
            "one_hot is only applicable to index tensor of type LongTensor.",
        ));
    }
    if num_classes < -1 {
        raise(Error::value(
            "one_hot",
            format!("num_classes should be -1 or non-negative, got {num_classes}"),
        ));
    }
    let classes = if x.numel() == 0 {
        if num_classes == -1 {
            raise(Error::value(
                "one_hot",
                "Can not infer total number of classes from empty tensor.",
            ));
        }
        num_classes
    } else {
        if x.min().item::<i64>() < 0 {
            raise(Error::index(
                "one_hot",
                "Class values must be non-negative.",
            ));
        }
        let largest = x.max().item::<i64>();
        if num_classes == -1 {
            largest.saturating_add(1)
        } else if largest >= num_classes {
            raise(Error::index(
                "one_hot",
                format!(
                    "Class values must be smaller than num_classes. Got class {largest} for num_classes = {num_classes}"
                ),
            ));
        } else {
            num_classes
        }
    };
    let mut shape = x.shape().to_vec();
    shape.push(classes as usize);
    crate::array::layout::check_shape("one_hot", &shape, DType::I64).or_raise();
    x.unsqueeze(-1)
        .eq(&Tensor::arange_with(
            classes,
            crate::TensorOptions::new().device(x.device()),
        ))
        .to_dtype(DType::I64)
}

impl Tensor {
    /// Indicator vectors of the classes in `self`; see [`one_hot`].
    ///
    /// ```
    /// # use cotangent::Tensor;
    /// assert_eq!(Tensor::new([1i64]).one_hot(2).to_vec::<i64>(), vec![0, 1]);
    /// ```
    #[track_caller]
    pub fn one_hot(&self, num_classes: i64) -> Tensor {
        one_hot(self, num_classes)
    }
}

pub(crate) fn op_info() -> Vec<OpInfo> {
    let reference = |r: &RefArray, classes: usize| {
        let mut shape = r.shape.clone();
        shape.push(classes);
        RefArray::from_fn(&shape, |p| {
            let (c, idx) = p.split_last().expect("rank >= 1");
            if r.get(idx) as usize == *c { 1.0 } else { 0.0 }
        })
    };
    vec![
        OpInfo::new(
            "one_hot",
            |a| a[0].one_hot(5),
            move |r| reference(&r[0], 5),
            |rng| {
                vec![
                    vec![rng.indices(&[4], 5)],
                    vec![rng.indices(&[2, 3], 5)],
                    vec![rng.indices(&[], 5)],
                    vec![rng.indices(&[0, 2], 5)],
                ]
            },
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
        OpInfo::new(
            "one_hot_inferred",
            |a| a[0].one_hot(-1),
            move |r| {
                let classes = r[0].data.iter().fold(0.0f64, |m, &v| m.max(v)) as usize + 1;
                reference(&r[0], classes)
            },
            |rng| vec![vec![rng.indices(&[3, 2], 4)], vec![Tensor::new([0i64, 0])]],
        )
        .dtypes(&[DType::I64])
        .out_dtype(DType::I64),
    ]
}
