//! Convolution and pooling: ranks, channels, groups, kernel and stride values, dtypes.

use cotangent::{DType, Tensor, conv2d, max_pool2d};

use crate::common::z;

fn conv(x: &[usize], w: &[usize]) -> Tensor {
    conv2d(&z(x), &z(w), None, [1, 1], [0, 0], [1, 1], 1)
}

bad! {
    conv2d_input_of_wrong_rank: Shape("conv2d", "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [5, 5]") =>
        conv2d(&z(&[1, 5, 5]).reshape(&[5, 5]), &z(&[1, 1, 3, 3]), None, [1, 1], [0, 0], [1, 1], 1);
    conv2d_weight_of_wrong_rank: Shape("conv2d", "expected a 4-d weight [out_channels, in_channels / groups, kH, kW], but got weight of size [1, 3, 3]") =>
        conv(&[1, 1, 5, 5], &[1, 3, 3]);
    conv2d_channels_differ: Shape("conv2d", "Given groups=1, weight of size [4, 3, 3, 3], expected input[1, 2, 5, 5] to have 3 channels, but got 2 channels instead") =>
        conv(&[1, 2, 5, 5], &[4, 3, 3, 3]);
    conv2d_kernel_larger_than_input: Shape("conv2d", "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size") =>
        conv(&[1, 1, 2, 2], &[1, 1, 3, 3]);
    conv2d_out_channels_not_divisible_by_groups: Shape("conv2d", "Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size [3, 1, 1, 1] instead") =>
        conv2d(&z(&[1, 2, 3, 3]), &z(&[3, 1, 1, 1]), None, [1, 1], [0, 0], [1, 1], 2);
    conv2d_zero_groups: Value("conv2d", "non-positive groups is not supported") =>
        conv2d(&z(&[1, 1, 3, 3]), &z(&[1, 1, 1, 1]), None, [1, 1], [0, 0], [1, 1], 0);
    conv2d_zero_stride: Value("conv2d", "non-positive stride is not supported") =>
        conv2d(&z(&[1, 1, 3, 3]), &z(&[1, 1, 1, 1]), None, [0, 1], [0, 0], [1, 1], 1);
    conv2d_zero_dilation: Value("conv2d", "dilation should be greater than zero") =>
        conv2d(&z(&[1, 1, 3, 3]), &z(&[1, 1, 1, 1]), None, [1, 1], [0, 0], [1, 0], 1);
    conv2d_empty_kernel: Value("conv2d", "kernel size must be positive") =>
        conv(&[1, 1, 3, 3], &[1, 1, 0, 1]);
    conv2d_bias_of_wrong_size: Shape("conv2d", "Given weight of size [4, 1, 1, 1], expected bias to be 1-dimensional with 4 elements, but got bias of size [3] instead") =>
        conv2d(&z(&[1, 1, 3, 3]), &z(&[4, 1, 1, 1]), Some(&z(&[3])), [1, 1], [0, 0], [1, 1], 1);
    conv2d_of_integers: DType("conv2d", "not implemented for 'torch.int64'") =>
        conv2d(&Tensor::zeros_dtype(&[1, 1, 3, 3], DType::I64), &Tensor::zeros_dtype(&[1, 1, 1, 1], DType::I64), None, [1, 1], [0, 0], [1, 1], 1);
    max_pool2d_input_of_wrong_rank: Shape("max_pool2d", "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got: [4, 4]") =>
        max_pool2d(&z(&[4, 4]), [2, 2], None, [0, 0], [1, 1], false);
    max_pool2d_zero_kernel: Value("max_pool2d", "kernel size should be greater than zero, but got kH: 0 kW: 2") =>
        max_pool2d(&z(&[1, 4, 4]), [0, 2], None, [0, 0], [1, 1], false);
    max_pool2d_zero_stride: Value("max_pool2d", "stride should be greater than zero, but got dH: 0 dW: 1") =>
        max_pool2d(&z(&[1, 4, 4]), [2, 2], Some([0, 1]), [0, 0], [1, 1], false);
    max_pool2d_zero_dilation: Value("max_pool2d", "dilation should be greater than zero, but got dilationH: 1 dilationW: 0") =>
        max_pool2d(&z(&[1, 4, 4]), [2, 2], None, [0, 0], [1, 0], false);
    max_pool2d_padding_over_half_kernel: Value("max_pool2d", "pad should be smaller than or equal to half of kernel size, but got padW = 2, padH = 2, kW = 2, kH = 2") =>
        max_pool2d(&z(&[1, 4, 4]), [2, 2], None, [2, 2], [1, 1], false);
    max_pool2d_output_too_small: Shape("max_pool2d", "Output size is too small") =>
        max_pool2d(&z(&[1, 2, 2]), [3, 3], None, [0, 0], [1, 1], false);
    max_pool2d_empty_channels: Shape("max_pool2d", "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got: [1, 0, 4, 4]") =>
        max_pool2d(&z(&[1, 0, 4, 4]), [2, 2], None, [0, 0], [1, 1], false);
    max_pool2d_of_integers: DType("max_pool2d", "not implemented for 'torch.int64'") =>
        max_pool2d(&Tensor::zeros_dtype(&[1, 4, 4], DType::I64), [2, 2], None, [0, 0], [1, 1], false);
}
