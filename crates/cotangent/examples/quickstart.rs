//! Quickstart: cotangent's eager tensors, with torch's names.
//!
//! Builds tensors, broadcasts, reduces, multiplies matrices, applies a softmax and a small
//! convolution, and checks each result against a value computed by hand. Run with
//! `cargo run --release --example quickstart`.

use cotangent::{DType, Tensor, conv2d, manual_seed, max_pool2d};

#[path = "common/device.rs"]
mod device;

fn main() {
    device::from_args();
    // torch.tensor([[1., 2., 3.], [4., 5., 6.]])
    let x = Tensor::new([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    println!("x =\n{x}");

    // Broadcasting: a row added to every row; a column scaled.
    let row = Tensor::new([10.0f32, 20.0, 30.0]);
    let y = &x + &row;
    assert_eq!(y.to_vec::<f32>(), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    println!("x + row =\n{y}");

    // Reductions: sums over dims, with keepdim, mean and max with indices.
    assert_eq!(x.sum_dim(&[0], false).to_vec::<f32>(), vec![5.0, 7.0, 9.0]);
    assert_eq!(x.sum_dim(&[-1], true).shape(), &[2, 1]);
    let (values, indices) = x.max_dim(1, false);
    assert_eq!(values.to_vec::<f32>(), vec![3.0, 6.0]);
    assert_eq!(indices.to_vec::<i64>(), vec![2, 2]);
    println!("mean = {}", x.mean());

    // Matrix products with torch.matmul's rules, and O(1) transposes.
    let g = x.matmul(&x.t());
    assert_eq!(g.to_vec::<f32>(), vec![14.0, 32.0, 32.0, 77.0]);
    println!("x @ x.T =\n{g}");

    // Softmax rows sum to one.
    let p = x.softmax(-1);
    let sums = p.sum_dim(&[-1], false).to_vec::<f32>();
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-6));
    println!("softmax(x, -1) =\n{p}");

    // A 3x3 box filter over a random image, then 2x2 max pooling.
    manual_seed(0);
    let image = Tensor::rand(&[1, 1, 6, 6]);
    let kernel = Tensor::ones(&[1, 1, 3, 3]) / 9.0;
    let blurred = conv2d(&image, &kernel, None, [1, 1], [0, 0], [1, 1], 1);
    assert_eq!(blurred.shape(), &[1, 1, 4, 4]);
    let first = image.narrow(2, 0, 3).narrow(3, 0, 3).mean().item::<f32>();
    assert!((blurred.to_vec::<f32>()[0] - first).abs() < 1e-6);
    let pooled = max_pool2d(&blurred, [2, 2], None, [0, 0], [1, 1], false);
    assert_eq!(pooled.shape(), &[1, 1, 2, 2]);
    println!("pooled =\n{pooled}");

    // dtypes promote as in torch: int64 / int64 is float32.
    let i = Tensor::arange(4);
    assert_eq!((&i / 2).dtype(), DType::F32);
    println!("arange(4) / 2 = {}", &i / 2);
    println!("quickstart: all checks passed");
}
