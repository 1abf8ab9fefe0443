//! Pytrees: nested structures of tensors that the transforms take and return.
//!
//! A [`Tree`] flattens into its tensor leaves and a [`TreeDef`] describing the structure, and
//! rebuilds from them. Tensors, tuples (up to 12), arrays, `Vec`, `Option`,
//! `BTreeMap<String, _>` and `#[derive(Tree)]` structs are trees; numbers and `bool` are
//! static leaves (carried in the `TreeDef`, never differentiated or mapped), like torch's
//! non-tensor arguments.
//!
//! A transform's *result* type is chosen by the caller and checked against the structure the
//! transform produced, so `grad` with `argnums = (1, 0)` can return `(Tensor, Tensor)` while
//! `argnums = 0` returns whatever the first argument is.

use std::collections::BTreeMap;
use std::fmt;

pub use cotangent_derive::Tree;

use crate::error::{Error, Result};
use crate::trace::Tensor;

/// A non-tensor leaf: kept in the structure, passed through transforms unchanged.
#[derive(Clone, Debug, PartialEq)]
pub enum Static {
    /// `f64` (also `f32`)
    F64(f64),
    /// `i64` (also `i32`, `usize`)
    I64(i64),
    /// `bool`
    Bool(bool),
    /// `()`
    Unit,
}

/// The structure of a pytree without its tensors.
#[derive(Clone, Debug, PartialEq)]
pub enum TreeDef {
    /// A tensor.
    Leaf,
    /// A non-tensor value.
    Static(Static),
    /// A tuple.
    Tuple(Vec<TreeDef>),
    /// A `Vec` or array.
    List(Vec<TreeDef>),
    /// An `Option`.
    Option(Option<Box<TreeDef>>),
    /// A `BTreeMap<String, _>` (keys sorted).
    Map(Vec<(String, TreeDef)>),
    /// A struct with named fields (`#[derive(Tree)]`).
    Struct(&'static str, Vec<(&'static str, TreeDef)>),
}

impl TreeDef {
    /// Number of tensor leaves.
    pub fn num_leaves(&self) -> usize {
        match self {
            TreeDef::Leaf => 1,
            TreeDef::Static(_) => 0,
            TreeDef::Tuple(c) | TreeDef::List(c) => c.iter().map(TreeDef::num_leaves).sum(),
            TreeDef::Option(c) => c.as_ref().map_or(0, |c| c.num_leaves()),
            TreeDef::Map(c) => c.iter().map(|(_, d)| d.num_leaves()).sum(),
            TreeDef::Struct(_, c) => c.iter().map(|(_, d)| d.num_leaves()).sum(),
        }
    }

    /// The direct children (empty for leaves).
    pub fn children(&self) -> Vec<&TreeDef> {
        match self {
            TreeDef::Leaf | TreeDef::Static(_) => vec![],
            TreeDef::Tuple(c) | TreeDef::List(c) => c.iter().collect(),
            TreeDef::Option(c) => c.iter().map(|b| &**b).collect(),
            TreeDef::Map(c) => c.iter().map(|(_, d)| d).collect(),
            TreeDef::Struct(_, c) => c.iter().map(|(_, d)| d).collect(),
        }
    }

    /// The positional arguments a function of this tree takes: a tuple's elements, or the
    /// tree itself for anything else (torch's `*args`).
    pub fn positional(&self) -> Vec<&TreeDef> {
        match self {
            TreeDef::Tuple(c) => c.iter().collect(),
            other => vec![other],
        }
    }

    /// Same structure, ignoring the values of static leaves.
    pub fn same_structure(&self, other: &TreeDef) -> bool {
        match (self, other) {
            (TreeDef::Static(_), TreeDef::Static(_)) | (TreeDef::Leaf, TreeDef::Leaf) => true,
            (TreeDef::Tuple(a), TreeDef::Tuple(b)) | (TreeDef::List(a), TreeDef::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_structure(y))
            }
            (TreeDef::Option(a), TreeDef::Option(b)) => match (a, b) {
                (Some(a), Some(b)) => a.same_structure(b),
                (None, None) => true,
                _ => false,
            },
            (TreeDef::Map(a), TreeDef::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((k, x), (l, y))| k == l && x.same_structure(y))
            }
            (TreeDef::Struct(n, a), TreeDef::Struct(m, b)) => {
                n == m
                    && a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((k, x), (l, y))| k == l && x.same_structure(y))
            }
            _ => false,
        }
    }
}

impl fmt::Display for TreeDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(
            f: &mut fmt::Formatter<'_>,
            items: &[TreeDef],
            open: &str,
            close: &str,
        ) -> fmt::Result {
            f.write_str(open)?;
            for (i, c) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{c}")?;
            }
            if open == "(" && items.len() == 1 {
                f.write_str(",")?;
            }
            f.write_str(close)
        }
        match self {
            TreeDef::Leaf => f.write_str("*"),
            TreeDef::Static(s) => match s {
                Static::F64(x) => write!(f, "{x:?}"),
                Static::I64(x) => write!(f, "{x}"),
                Static::Bool(x) => write!(f, "{x}"),
                Static::Unit => f.write_str("()"),
            },
            TreeDef::Tuple(c) => list(f, c, "(", ")"),
            TreeDef::List(c) => list(f, c, "[", "]"),
            TreeDef::Option(None) => f.write_str("None"),
            TreeDef::Option(Some(c)) => write!(f, "Some({c})"),
            TreeDef::Map(c) => {
                f.write_str("{")?;
                for (i, (k, d)) in c.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?}: {d}")?;
                }
                f.write_str("}")
            }
            TreeDef::Struct(name, c) => {
                write!(f, "{name} {{ ")?;
                for (i, (k, d)) in c.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {d}")?;
                }
                f.write_str(" }")
            }
        }
    }
}

/// A nested structure of tensors.
pub trait Tree: Sized {
    /// The first positional argument when this tree is a function's argument list: the
    /// first element of a tuple, the tree itself otherwise. `grad(f)` returns this type.
    type First: Tree;
    /// Append the tensor leaves in order and describe the structure.
    fn flatten_into(&self, leaves: &mut Vec<Tensor>) -> TreeDef;
    /// Rebuild from a structure and leaves in order, or explain why this type cannot have
    /// that structure.
    fn unflatten_from(def: &TreeDef, leaves: &mut dyn Iterator<Item = Tensor>) -> Result<Self>;

    /// The leaves and the structure.
    fn flatten(&self) -> (Vec<Tensor>, TreeDef) {
        let mut leaves = Vec::new();
        let def = self.flatten_into(&mut leaves);
        (leaves, def)
    }

    /// Rebuild from a structure and its leaves.
    ///
    /// # Errors
    /// If the type's shape does not match `def` (a tuple of 3 read as a pair, say), or the
    /// number of leaves differs.
    fn unflatten(def: &TreeDef, leaves: Vec<Tensor>) -> Result<Self> {
        let n = leaves.len();
        if n != def.num_leaves() {
            return Err(structure_error(
                &format!(
                    "{n} tensors for a structure with {} leaves",
                    def.num_leaves()
                ),
                def,
            ));
        }
        Self::unflatten_from(def, &mut leaves.into_iter())
    }
}

fn structure_error(what: &str, def: &TreeDef) -> Error {
    Error::transform(
        "pytree",
        format!("cannot rebuild {what}: the structure is {def}"),
    )
}

fn mismatch<T>(expected: &str, def: &TreeDef) -> Result<T> {
    Err(Error::transform(
        "pytree",
        format!(
            "the result type is {expected} but the value has structure {def}; annotate the \
             result with a type of that structure"
        ),
    ))
}

impl Tree for Tensor {
    type First = Self;
    fn flatten_into(&self, leaves: &mut Vec<Tensor>) -> TreeDef {
        leaves.push(self.clone());
        TreeDef::Leaf
    }
    fn unflatten_from(def: &TreeDef, leaves: &mut dyn Iterator<Item = Tensor>) -> Result<Self> {
        match def {
            TreeDef::Leaf => Ok(leaves.next().expect("leaf count checked")),
            _ => mismatch("a Tensor", def),
        }
    }
}

macro_rules! static_leaf {
    ($t:ty, $variant:ident, $to:expr, $from:expr) => {
        impl Tree for $t {
            type First = Self;
            fn flatten_into(&self, _: &mut Vec<Tensor>) -> TreeDef {
                TreeDef::Static(Static::$variant($to(*self)))
            }
            fn unflatten_from(def: &TreeDef, _: &mut dyn Iterator<Item = Tensor>) -> Result<Self> {
                match def {
                    TreeDef::Static(Static::$variant(v)) => Ok($from(*v)),
                    _ => mismatch(stringify!($t), def),
                }
            }
        }
    };
}
static_leaf!(f64, F64, |x| x, |x| x);
static_leaf!(f32, F64, |x: f32| x as f64, |x: f64| x as f32);
static_leaf!(i64, I64, |x| x, |x| x);
static_leaf!(i32, I64, |x: i32| x as i64, |x: i64| x as i32);
static_leaf!(usize, I64, |x: usize| x as i64, |x: i64| x as usize);
static_leaf!(bool, Bool, |x| x, |x| x);

impl Tree for () {
    type First = Self;
    fn flatten_into(&self, _: &mut Vec<Tensor>) -> TreeDef {
        TreeDef::Static(Static::Unit)
    }
    fn unflatten_from(def: &TreeDef, _: &mut dyn Iterator<Item = Tensor>) -> Result<Self> {
        match def {
            TreeDef::Static(Static::Unit) | TreeDef::Tuple(_) if def.num_leaves() == 0 => Ok(()),
            _ => mismatch("()", def),
        }
    }
}

macro_rules! tuple_tree {
    ($n:literal; $($t:ident $i:tt),+) => {
        impl<$($t: Tree),+> Tree for ($($t,)+) {
            type First = A;
            fn flatten_into(&self, leaves: &mut Vec<Tensor>) -> TreeDef {
                TreeDef::Tuple(vec![$(self.$i.flatten_into(leaves)),+])
            }
            fn unflatten_from(def: &TreeDef, leaves: &mut dyn Iterator<Item = Tensor>) -> Result<Self> {
                match def {
                    TreeDef::Tuple(c) if c.len() == $n => Ok(($($t::unflatten_from(&c[$i], leaves)?,)+)),
                    _ => mismatch(concat!("a tuple of ", $n), def),
                }
            }
        }
    };
}
tuple_tree!(1; A 0);
tuple_tree!(2; A 0, B 1);
tuple_tree!(3; A 0, B 1, C 2);
tuple_tree!(4; A 0, B 1, C 2, D 3);
tuple_tree!(5; A 0, B 1, C 2, D 3, E 4);
tuple_tree!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_tree!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_tree!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_tree!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_tree!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_tree!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_tree!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

impl<T: Tree> Tree for Vec<T> {
    type First = Self;
    fn flatten_into(&self, leaves: &mut Vec<Tensor>) -> TreeDef {
        TreeDef::List(self.iter().map(|x| x.flatten_into(leaves)).collect())
    }
    fn unflatten_from(def: &TreeDef, leaves: &mut dyn Iterator<Item = Tensor>) -> Result<Self> {
        match def {
            TreeDef::List(c) => c.iter().map(|d| T::unflatten_from(d, leaves)).collect(),
            _ => mismatch("a Vec", def),
        }
    }
}

impl<T: Tree, const N: usize> Tree for [T; N] {
    type First = Self;
    fn flatten_into(&self, leaves: &mut Vec<Tensor>) -> TreeDef {
        TreeDef::List(self.iter().map(|x| x.flatten_into(leaves)).collect())
    }
    fn unflatten_from(def: &TreeDef, leaves: &mut dyn Iterator<Item = Tensor>) -> Result<Self> {
        match def {
            TreeDef::List(c) if c.len() == N => {
                let items: Vec<T> = c
                    .iter()
                    .map(|d| T::unflatten_from(d, leaves))
                    .collect::<Result<_>>()?;
                Ok(items
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("length checked")))
            }
            _ => mismatch(&format!("an array of {N}"), def),
        }
    }
}

impl<T: Tree> Tree for Option<T> {
    type First = Self;
    fn flatten_into(&self, leaves: &mut Vec<Tensor>) -> TreeDef {
        TreeDef::Option(self.as_ref().map(|x| Box::new(x.flatten_into(leaves))))
    }
    fn unflatten_from(def: &TreeDef, leaves: &mut dyn Iterator<Item = Tensor>) -> Result<Self> {
        match def {
            TreeDef::Option(None) => Ok(None),
            TreeDef::Option(Some(d)) => Ok(Some(T::unflatten_from(d, leaves)?)),
            _ => mismatch("an Option", def),
        }
    }
}

impl<T: Tree> Tree for BTreeMap<String, T> {
    type First = Self;
    fn flatten_into(&self, leaves: &mut Vec<Tensor>) -> TreeDef {
        TreeDef::Map(
            self.iter()
                .map(|(k, v)| (k.clone(), v.flatten_into(leaves)))
                .collect(),
        )
    }
    fn unflatten_from(def: &TreeDef, leaves: &mut dyn Iterator<Item = Tensor>) -> Result<Self> {
        match def {
            TreeDef::Map(c) => c
                .iter()
                .map(|(k, d)| Ok((k.clone(), T::unflatten_from(d, leaves)?)))
                .collect(),
            _ => mismatch("a BTreeMap", def),
        }
    }
}

/// Build one value of a `#[derive(Tree)]` struct's field (used by the derive macro).
#[doc(hidden)]
pub fn unflatten_field<T: Tree>(
    def: &TreeDef,
    strukt: &'static str,
    index: usize,
    name: &'static str,
    leaves: &mut dyn Iterator<Item = Tensor>,
) -> Result<T> {
    match def {
        TreeDef::Struct(s, fields)
            if *s == strukt && fields.get(index).is_some_and(|f| f.0 == name) =>
        {
            T::unflatten_from(&fields[index].1, leaves)
        }
        _ => mismatch(strukt, def),
    }
}

/// Apply `f` to every tensor leaf, keeping the structure.
pub fn tree_map<T: Tree>(tree: &T, f: impl FnMut(&Tensor) -> Tensor) -> T {
    let (leaves, def) = tree.flatten();
    let mapped: Vec<Tensor> = leaves.iter().map(f).collect();
    T::unflatten(&def, mapped).expect("same structure")
}

/// Any tree, kept as its structure and leaves: a result type that accepts whatever
/// structure a transform produces (`let j: DynTree = jacrev_with(...)(x)`), and what the
/// library uses internally where no static type is known.
#[derive(Clone, Debug)]
pub struct DynTree {
    /// The structure.
    pub def: TreeDef,
    /// The tensor leaves in order.
    pub leaves: Vec<Tensor>,
}

impl Tree for DynTree {
    type First = DynTree;
    fn flatten_into(&self, leaves: &mut Vec<Tensor>) -> TreeDef {
        leaves.extend(self.leaves.iter().cloned());
        self.def.clone()
    }
    fn unflatten_from(def: &TreeDef, leaves: &mut dyn Iterator<Item = Tensor>) -> Result<Self> {
        Ok(DynTree {
            def: def.clone(),
            leaves: leaves.take(def.num_leaves()).collect(),
        })
    }
}
