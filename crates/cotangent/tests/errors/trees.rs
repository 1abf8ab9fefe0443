//! Pytrees: rebuilding a value of one structure as a type of another, and result types of
//! the `*_with` transforms that do not fit what the transform produced.

use cotangent::tree::{DynTree, Tree};
use cotangent::{GradOpts, JacrevOpts, Tensor, grad_with, jacrev_with};

fn x3() -> Tensor {
    Tensor::new([1.0f64, 2.0, 3.0])
}

/// The structure of `t`.
fn def_of<T: Tree>(t: &T) -> cotangent::tree::TreeDef {
    Tree::flatten(t).1
}

#[derive(Clone, Tree)]
struct Params {
    w: Tensor,
    b: Tensor,
}

bad_result! {
    tensor_rebuilt_as_pair: Transform("pytree", "the result type is a tuple of 2 but the value has structure") =>
        <(Tensor, Tensor)>::unflatten(&def_of(&x3()), vec![x3()]);
    pair_rebuilt_as_tensor: Transform("pytree", "the result type is a Tensor but the value has structure") =>
        <Tensor as Tree>::unflatten(&def_of(&(x3(), x3())), vec![x3(), x3()]);
    too_few_leaves: Transform("pytree", "cannot rebuild 1 tensors for a structure with 2 leaves") =>
        <(Tensor, Tensor)>::unflatten(&def_of(&(x3(), x3())), vec![x3()]);
    too_many_leaves: Transform("pytree", "cannot rebuild 3 tensors for a structure with 2 leaves") =>
        <(Tensor, Tensor)>::unflatten(&def_of(&(x3(), x3())), vec![x3(), x3(), x3()]);
    vec_rebuilt_as_array: Transform("pytree", "the result type is an array of 3 but the value has structure") =>
        <[Tensor; 3]>::unflatten(&def_of(&vec![x3(), x3()]), vec![x3(), x3()]);
    tuple_rebuilt_as_vec: Transform("pytree", "the result type is a Vec but the value has structure") =>
        <Vec<Tensor>>::unflatten(&def_of(&(x3(), x3())), vec![x3(), x3()]);
    pair_rebuilt_as_struct: Transform("pytree", "but the value has structure") =>
        Params::unflatten(&def_of(&(x3(), x3())), vec![x3(), x3()]);
    struct_rebuilt_as_option: Transform("pytree", "the result type is an Option but the value has structure") =>
        <Option<Tensor>>::unflatten(&def_of(&Params { w: x3(), b: x3() }), vec![x3(), x3()]);
    map_rebuilt_as_unit: Transform("pytree", "the result type is () but the value has structure") =>
        <()>::unflatten(&def_of(&x3()), vec![x3()]);
}

bad! {
    grad_with_result_of_other_type: Transform("pytree", "the result type is a Tensor but the value has structure") =>
        grad_with::<_, _, Tensor, _>(|(x, y): (Tensor, Tensor)| (&x * &y).sum(), GradOpts::new().argnums((0, 1)))((x3(), x3()));
    jacrev_with_result_of_other_type: Transform("pytree", "the result type is a tuple of 2 but the value has structure") =>
        jacrev_with::<_, _, (Tensor, Tensor), _>(|x: Tensor| x.sin(), JacrevOpts::new())(x3());
    grad_of_struct_rebuilt_as_tensor: Transform("pytree", "the result type is a Tensor but the value has structure") =>
        grad_with::<_, _, Tensor, _>(|p: Params| (&p.w * &p.b).sum(), GradOpts::new())(Params { w: x3(), b: x3() });
}

/// `DynTree` takes any structure.
#[test]
fn dyn_tree_accepts_any_structure() {
    let def = def_of(&(x3(), vec![x3()]));
    let t = DynTree::unflatten(&def, vec![x3(), x3()]).expect("any structure");
    assert_eq!(t.leaves.len(), 2);
}
