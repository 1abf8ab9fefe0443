//! Error messages are part of the API: each misuse names the op, the shapes or values
//! involved, and what would be valid, in torch's wording where torch has one. After a caught
//! failure the library keeps working.

use cotangent::{DType, Error, Tensor};

use cotangent::testing::{assert_panics_with, panic_message};

#[test]
fn broadcast_mismatch_names_sizes_and_dim() {
    let (a, b) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 4]));
    assert_panics_with(
        || drop(&a + &b),
        &[
            "add",
            "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
        ],
    );
}

#[test]
fn dim_out_of_range_gives_valid_range() {
    let x = Tensor::zeros(&[2, 3]);
    assert_panics_with(
        || drop(x.sum_dim(&[2], false)),
        &[
            "sum",
            "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
        ],
    );
    assert_panics_with(
        || drop(x.transpose(0, -3)),
        &["transpose", "[-2, 1]", "got -3"],
    );
    assert_panics_with(
        || drop(x.sum_dim(&[0, -2], false)),
        &["dim 0 appears multiple times"],
    );
}

#[test]
fn impossible_reshape_names_shape_and_size() {
    let x = Tensor::zeros(&[2, 3]);
    assert_panics_with(
        || drop(x.reshape(&[4, 2])),
        &["reshape", "shape '[4, 2]' is invalid for input of size 6"],
    );
    assert_panics_with(
        || drop(x.reshape(&[-1, -1])),
        &["only one dimension can be inferred"],
    );
    let err = x.try_reshape(&[5]).unwrap_err();
    assert!(matches!(err, Error::Shape { op: "reshape", .. }));
}

#[test]
fn building_from_wrong_length_is_an_err() {
    let err = Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[2, 2]).unwrap_err();
    assert_eq!(
        err,
        Error::ShapeData {
            shape: vec![2, 2],
            len: 3
        }
    );
    assert!(
        err.to_string()
            .contains("shape [2, 2] is invalid for input of size 3")
    );
}

#[test]
fn item_needs_one_element() {
    assert_panics_with(
        || {
            Tensor::zeros(&[2]).item::<f32>();
        },
        &[
            "item",
            "a Tensor with 2 elements cannot be converted to Scalar",
        ],
    );
    assert!(Tensor::zeros(&[0]).try_item::<f32>().is_err());
}

#[test]
fn views_check_their_arguments() {
    let x = Tensor::zeros(&[2, 3]);
    assert_panics_with(|| drop(x.permute(&[0, 0])), &["permute", "dims"]);
    assert_panics_with(|| drop(x.expand(&[4, 4])), &["expand", "[2, 3]", "[4, 4]"]);
    assert_panics_with(
        || drop(x.narrow(1, 2, 2)),
        &[
            "narrow",
            "start (2) + length (2) exceeds dimension size (3)",
        ],
    );
    assert_panics_with(
        || drop(x.select(0, 2)),
        &[
            "select",
            "index 2 is out of bounds for dimension 0 with size 2",
        ],
    );
    assert_panics_with(
        || drop(Tensor::zeros(&[2, 2, 2]).t()),
        &["t() expects a tensor with <= 2 dimensions"],
    );
}

#[test]
fn dtype_an_op_does_not_accept() {
    let b = Tensor::new([true, false]);
    assert_panics_with(|| drop(-&b), &["neg", "bool"]);
    // Ops with no integer version promote instead, as torch does.
    assert_eq!(Tensor::arange(3).sin().dtype(), DType::F32);
}

#[test]
fn library_is_usable_after_a_caught_failure() {
    let x = Tensor::ones(&[2, 3]);
    let _ = panic_message(|| drop(x.reshape(&[7])));
    let _ = panic_message(|| drop(&x + &Tensor::ones(&[4])));
    assert_eq!((&x + &x).sum().item::<f32>(), 12.0);
}

#[test]
fn zero_size_dims_flow_through() {
    let x = Tensor::zeros(&[0, 3]);
    assert_eq!(x.sum().item::<f32>(), 0.0);
    assert_eq!(x.sum_dim(&[0], false).to_vec::<f32>(), vec![0.0; 3]);
    assert_eq!((&x + &Tensor::ones(&[3])).shape(), &[0, 3]);
    assert_eq!(x.t().contiguous().shape(), &[3, 0]);
    assert_eq!(x.reshape(&[3, 0, 1]).shape(), &[3, 0, 1]);
    assert_panics_with(
        || drop(x.reshape(&[3, 0, -1])),
        &["the unspecified dimension size -1 can be any value"],
    );
}
