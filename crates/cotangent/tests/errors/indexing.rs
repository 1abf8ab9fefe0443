//! Indexing: gather, take_along_dim, index_select, scatter_add and one_hot, with their
//! data-dependent range checks (found in the kernel, reported at the op).

use cotangent::{DType, Tensor, gather, index_select, one_hot, scatter_add, take_along_dim};

use crate::common::{idx, z};

bad! {
    gather_index_past_the_end: Index("gather", "index 7 is out of bounds for dimension 0 with size 3") =>
        gather(&z(&[3, 3]), 0, &Tensor::new([[0i64, 7, 1]]));
    gather_negative_index: Index("gather", "index -1 is out of bounds for dimension 1 with size 3") =>
        gather(&z(&[3, 3]), 1, &Tensor::new([[0i64], [-1]]));
    gather_into_empty_dim: Index("gather", "index 0 is out of bounds for dimension 1 with size 0") =>
        gather(&z(&[2, 0]), 1, &Tensor::new([[0i64], [0]]));
    gather_index_larger_than_input: Shape("gather", "Size does not match at dimension 0 expected index [4, 2] to be smaller than self [3, 3] apart from dimension 1") =>
        gather(&z(&[3, 3]), 1, &Tensor::zeros_dtype(&[4, 2], DType::I64));
    gather_float_index: DType("gather", "Expected dtype int64 for index") =>
        gather(&z(&[3, 3]), 0, &z(&[1, 3]));
    gather_index_of_other_rank: Shape("gather", "Index tensor must have the same number of dimensions as input tensor") =>
        gather(&z(&[3, 3]), 0, &idx([0, 1]));
    gather_dim_out_of_range: Index("gather", "Dimension out of range (expected to be in range of [-2, 1], but got 2)") =>
        gather(&z(&[3, 3]), 2, &Tensor::new([[0i64]]));
    gather_method_index_past_the_end: Index("gather", "index 3 is out of bounds for dimension 0 with size 3") =>
        z(&[3]).gather(0, &idx([3]));
    take_along_dim_ranks_differ: Shape("take_along_dim", "input and indices should have the same number of dimensions, but got 2 dimensions for input, and 1 dimensions for indices") =>
        take_along_dim(&z(&[2, 3]), &idx([0, 1]), Some(1));
    take_along_dim_index_past_the_end: Index("take_along_dim", "index 3 is out of bounds for dimension 1 with size 3") =>
        take_along_dim(&z(&[2, 3]), &Tensor::new([[3i64]]), Some(1));
    take_along_dim_flat_index_past_the_end: Index("take_along_dim", "index 6 is out of bounds for dimension 0 with size 6") =>
        take_along_dim(&z(&[2, 3]), &idx([6]), None);
    take_along_dim_float_indices: DType("take_along_dim", "dtype of indices should be Long but got torch.float32") =>
        take_along_dim(&z(&[2, 3]), &z(&[2, 1]), Some(1));
    index_select_index_past_the_end: Index("index_select", "index out of range in self: index 5 is out of bounds for dimension 0 with size 3") =>
        index_select(&z(&[3, 2]), 0, &idx([0, 5]));
    index_select_negative_index: Index("index_select", "index -1 is out of bounds for dimension 1 with size 2") =>
        index_select(&z(&[3, 2]), 1, &idx([-1]));
    index_select_matrix_index: Shape("index_select", "Index is supposed to be a vector") =>
        index_select(&z(&[3, 2]), 0, &Tensor::new([[0i64]]));
    index_select_scalar_with_many: Index("index_select", "Index to scalar can have only 1 value") =>
        index_select(&Tensor::scalar(1.0f32), 0, &idx([0, 0]));
    index_select_float_index: DType("index_select", "Expected dtype int64 for index, got torch.float32") =>
        index_select(&z(&[3]), 0, &z(&[1]));
    scatter_add_index_past_the_end: Index("scatter_add", "index 3 is out of bounds for dimension 0 with size 3") =>
        scatter_add(&z(&[3]), 0, &idx([0, 3]), &Tensor::ones(&[2]));
    scatter_add_index_larger_than_src: Shape("scatter_add", "Expected index [3] to be smaller than self [3] apart from dimension 0 and to be smaller size than src [2]") =>
        scatter_add(&z(&[3]), 0, &idx([0, 1, 2]), &Tensor::ones(&[2]));
    scatter_add_dtypes_differ: DType("scatter_add", "Expected self.dtype to be equal to src.dtype") =>
        scatter_add(&z(&[3]), 0, &idx([0]), &Tensor::ones(&[1]).to_dtype(DType::F64));
    scatter_add_float_index: DType("scatter_add", "Expected dtype int64 for index") =>
        scatter_add(&z(&[3]), 0, &z(&[1]), &Tensor::ones(&[1]));
    scatter_add_ranks_differ: Shape("scatter_add", "Index tensor must have the same number of dimensions as self tensor") =>
        scatter_add(&z(&[3, 2]), 0, &idx([0]), &Tensor::ones(&[1]));
    one_hot_class_too_large: Index("one_hot", "Class values must be smaller than num_classes.") =>
        one_hot(&idx([0, 3]), 3);
    one_hot_negative_class: Index("one_hot", "Class values must be non-negative.") =>
        one_hot(&idx([-1]), 3);
    one_hot_float_input: DType("one_hot", "one_hot is only applicable to index tensor of type LongTensor.") =>
        one_hot(&z(&[2]), 3);
    one_hot_empty_without_classes: Value("one_hot", "Can not infer total number of classes from empty tensor.") =>
        one_hot(&Tensor::zeros_dtype(&[0], DType::I64), -1);
    one_hot_invalid_num_classes: Value("one_hot", "num_classes should be -1 or non-negative, got -2") =>
        one_hot(&idx([0]), -2);
}
