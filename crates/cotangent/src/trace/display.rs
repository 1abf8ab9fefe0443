//! PyTorch-compatible tensor printing.
//!
//! `format_tensor` renders a tensor exactly the way `repr(tensor)` / `print(tensor)` does in
//! PyTorch (`torch/_tensor_str.py`) under the default print options (`precision=4`,
//! `threshold=1000`, `edgeitems=3`, `linewidth=80`, `sci_mode=None`), for the dtypes `float32`
//! (the default dtype), `float64`, `int64` and `bool`.
//!
//! The implementation is a direct port of torch's algorithm:
//!
//! * `_Formatter` decides, from the nonzero finite values that will actually be shown, between
//!   integer mode (`1.`, `-0.`, `100.`), fixed-point mode (`1.5000`) and scientific mode
//!   (`1.0000e-05`), and computes one common width that every element is right-aligned to.
//! * `_tensor_str_with_formatter` / `_vector_str` lay out the nested brackets, wrap long rows at
//!   the line width and join slices of rank `d` with `d - 1` newlines.
//! * Tensors with more than `threshold` elements are summarized: every dimension longer than
//!   `2 * edgeitems` shows only its first and last `edgeitems` entries around a `...` marker,
//!   and the formatter only looks at the entries that are shown (`get_summarized_data`).
//! * `_str_intern` / `_add_suffixes` append `size=` / `dtype=` suffixes, moving a suffix onto a
//!   new line when it would overflow the line width.
//!
//! Float formatting follows Python's `format` (`{:.4f}`, `{:.0f}`, `{:.4e}`): values are
//! rounded correctly (ties to even on the exact binary value), exponents have a sign and at
//! least two digits, and non-finite values print as `nan`, `inf` and `-inf`. `float32` values
//! are widened to `f64` first, as `Tensor.tolist()` does.

/// Number of digits after the decimal point (`PRINT_OPTS.precision`).
const PRECISION: usize = 4;
/// Tensors with more elements than this are summarized (`PRINT_OPTS.threshold`).
const THRESHOLD: usize = 1000;
/// Entries shown at each end of a summarized dimension (`PRINT_OPTS.edgeitems`).
const EDGEITEMS: usize = 3;
/// Target line width (`PRINT_OPTS.linewidth`).
const LINEWIDTH: usize = 80;
/// Prefix of every printed tensor; its length is the base indentation.
const PREFIX: &str = "tensor(";

/// Values in row-major order. dtype decides formatting and the suffix.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DisplayValues<'a> {
    /// `torch.float32`, the default dtype: no `dtype=` suffix.
    F32(&'a [f32]),
    /// `torch.float64`: printed with a `dtype=torch.float64` suffix.
    F64(&'a [f64]),
    /// `torch.int64`: no `dtype=` suffix unless the tensor is empty.
    I64(&'a [i64]),
    /// `torch.bool`: no `dtype=` suffix unless the tensor is empty.
    Bool(&'a [bool]),
}

/// One element, widened to the type Python's `tolist()` would produce.
#[derive(Clone, Copy, Debug)]
enum Scalar {
    Float(f64),
    Int(i64),
    Bool(bool),
}

impl DisplayValues<'_> {
    fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::F64(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    fn get(&self, i: usize) -> Scalar {
        match self {
            Self::F32(v) => Scalar::Float(f64::from(v[i])),
            Self::F64(v) => Scalar::Float(v[i]),
            Self::I64(v) => Scalar::Int(v[i]),
            Self::Bool(v) => Scalar::Bool(v[i]),
        }
    }

    fn is_floating(&self) -> bool {
        matches!(self, Self::F32(_) | Self::F64(_))
    }

    /// `str(tensor.dtype)`.
    fn dtype_name(&self) -> &'static str {
        match self {
            Self::F32(_) => "torch.float32",
            Self::F64(_) => "torch.float64",
            Self::I64(_) => "torch.int64",
            Self::Bool(_) => "torch.bool",
        }
    }

    /// Whether the dtype is torch's default float dtype (`float32`).
    fn is_default_float(&self) -> bool {
        matches!(self, Self::F32(_))
    }

    /// `has_default_dtype` in `_str_intern`: default float, `int64` or `bool`.
    fn has_default_dtype(&self) -> bool {
        !matches!(self, Self::F64(_))
    }
}

/// Formats a tensor the way PyTorch's `repr(tensor)` does with default print options.
///
/// `shape` is the tensor's shape (empty for a 0-d tensor) and `values` holds its
/// `shape.iter().product()` elements in row-major order.
///
/// # Panics
///
/// Panics if the number of values does not match the shape.
pub(crate) fn format_tensor(shape: &[usize], values: DisplayValues<'_>) -> String {
    let numel: usize = shape.iter().product();
    assert_eq!(
        values.len(),
        numel,
        "format_tensor: shape {shape:?} needs {numel} values, got {}",
        values.len()
    );

    let indent = PREFIX.len();
    let mut suffixes = Vec::new();
    let body = if numel == 0 {
        // Explicitly print the shape if it is not (0,), to match NumPy.
        if shape.len() != 1 {
            suffixes.push(format!("size={}", python_tuple(shape)));
        }
        // An empty tensor has no elements to infer the dtype from, so it is always shown.
        if !values.is_default_float() {
            suffixes.push(format!("dtype={}", values.dtype_name()));
        }
        String::from("[]")
    } else {
        if !values.has_default_dtype() {
            suffixes.push(format!("dtype={}", values.dtype_name()));
        }
        Printer::new(shape, values).tensor_str(0, 0, indent)
    };
    add_suffixes(format!("{PREFIX}{body}"), &suffixes, indent)
}

/// `_add_suffixes`: appends `, suffix` for each suffix, breaking the line when it would exceed
/// the line width, and closes the parenthesis.
fn add_suffixes(mut out: String, suffixes: &[String], indent: usize) -> String {
    // Python: `len(s) - s.rfind("\n") + 1`, where `rfind` returns -1 when there is no newline.
    let mut last_line_len = match out.rfind('\n') {
        Some(pos) => out.len() - pos + 1,
        None => out.len() + 2,
    };
    for suffix in suffixes {
        if last_line_len + suffix.len() + 2 > LINEWIDTH {
            out.push_str(",\n");
            out.push_str(&" ".repeat(indent));
            out.push_str(suffix);
            last_line_len = indent + suffix.len();
        } else {
            out.push_str(", ");
            out.push_str(suffix);
            last_line_len += suffix.len() + 2;
        }
    }
    out.push(')');
    out
}

/// Python's `str(tuple(shape))`: `(0, 3)`, `(0,)`, `()`.
fn python_tuple(shape: &[usize]) -> String {
    let items: Vec<String> = shape.iter().map(ToString::to_string).collect();
    if items.len() == 1 {
        format!("({},)", items[0])
    } else {
        format!("({})", items.join(", "))
    }
}

/// Lays out a non-empty tensor (`_tensor_str` and `_tensor_str_with_formatter`).
struct Printer<'a> {
    shape: &'a [usize],
    strides: Vec<usize>,
    values: DisplayValues<'a>,
    summarize: bool,
    formatter: Formatter,
}

impl<'a> Printer<'a> {
    fn new(shape: &'a [usize], values: DisplayValues<'a>) -> Self {
        let mut strides = vec![1; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * shape[d + 1];
        }
        let mut printer = Printer {
            shape,
            strides,
            values,
            summarize: values.len() > THRESHOLD,
            formatter: Formatter::default(),
        };
        // The formatter only sees the elements that are printed (`get_summarized_data`).
        let mut shown = Vec::new();
        printer.collect_shown(0, 0, &mut shown);
        printer.formatter = Formatter::new(values.is_floating(), &shown);
        printer
    }

    /// Indices shown along a dimension of length `n`; `None` marks the `...` placeholder.
    fn shown_indices(&self, n: usize) -> Vec<Option<usize>> {
        if self.summarize && n > 2 * EDGEITEMS {
            (0..EDGEITEMS)
                .map(Some)
                .chain(std::iter::once(None))
                .chain((n - EDGEITEMS..n).map(Some))
                .collect()
        } else {
            (0..n).map(Some).collect()
        }
    }

    /// Every element that ends up in the output, in row-major order.
    fn collect_shown(&self, dim: usize, offset: usize, out: &mut Vec<Scalar>) {
        if dim == self.shape.len() {
            out.push(self.values.get(offset));
            return;
        }
        for i in self.shown_indices(self.shape[dim]).into_iter().flatten() {
            self.collect_shown(dim + 1, offset + i * self.strides[dim], out);
        }
    }

    /// `_tensor_str_with_formatter` for the sub-tensor made of dimensions `dim..` at `offset`.
    fn tensor_str(&self, dim: usize, offset: usize, indent: usize) -> String {
        let rank = self.shape.len() - dim;
        match rank {
            0 => self.formatter.format(self.values.get(offset)),
            1 => self.vector_str(dim, offset, indent),
            _ => {
                let slices: Vec<String> = self
                    .shown_indices(self.shape[dim])
                    .into_iter()
                    .map(|i| match i {
                        Some(i) => {
                            self.tensor_str(dim + 1, offset + i * self.strides[dim], indent + 1)
                        }
                        None => String::from("..."),
                    })
                    .collect();
                let sep = format!(",{}{}", "\n".repeat(rank - 1), " ".repeat(indent + 1));
                format!("[{}]", slices.join(&sep))
            }
        }
    }

    /// `_vector_str`: one innermost row, wrapped at the line width.
    fn vector_str(&self, dim: usize, offset: usize, indent: usize) -> String {
        // Length includes the comma and space between elements.
        let element_length = self.formatter.max_width + 2;
        let per_line = (LINEWIDTH.saturating_sub(indent) / element_length).max(1);
        let data: Vec<String> = self
            .shown_indices(self.shape[dim])
            .into_iter()
            .map(|i| match i {
                Some(i) => self
                    .formatter
                    .format(self.values.get(offset + i * self.strides[dim])),
                None => String::from(" ..."),
            })
            .collect();
        let lines: Vec<String> = data.chunks(per_line).map(|line| line.join(", ")).collect();
        let sep = format!(",\n{}", " ".repeat(indent + 1));
        format!("[{}]", lines.join(&sep))
    }
}

/// `_Formatter`: chooses the float mode and the common element width.
#[derive(Clone, Copy, Debug)]
struct Formatter {
    floating: bool,
    int_mode: bool,
    sci_mode: bool,
    max_width: usize,
}

impl Default for Formatter {
    fn default() -> Self {
        Formatter {
            floating: false,
            int_mode: true,
            sci_mode: false,
            max_width: 1,
        }
    }
}

impl Formatter {
    fn new(floating: bool, values: &[Scalar]) -> Self {
        let mut f = Formatter {
            floating,
            ..Formatter::default()
        };
        if !floating {
            for &v in values {
                f.max_width = f.max_width.max(plain_str(v).len());
            }
            return f;
        }

        let nonzero_finite: Vec<f64> = values
            .iter()
            .filter_map(|&v| match v {
                Scalar::Float(x) if x.is_finite() && x != 0.0 => Some(x),
                _ => None,
            })
            .collect();
        if nonzero_finite.is_empty() {
            // No valid number: integer mode with width 1.
            return f;
        }
        let min = nonzero_finite
            .iter()
            .map(|x| x.abs())
            .fold(f64::INFINITY, f64::min);
        let max = nonzero_finite.iter().map(|x| x.abs()).fold(0.0, f64::max);

        f.int_mode = nonzero_finite.iter().all(|&x| x == x.ceil());
        f.sci_mode = max / min > 1000.0 || max > 1.0e8 || min < 1.0e-4;
        for &x in &nonzero_finite {
            let width = if f.sci_mode {
                sci_str(x).len()
            } else if f.int_mode {
                // Room for the trailing "." that marks a float.
                fixed_str(x, 0).len() + 1
            } else {
                fixed_str(x, PRECISION).len()
            };
            f.max_width = f.max_width.max(width);
        }
        f
    }

    /// `_Formatter.format`: one element, right-aligned to the common width.
    fn format(&self, value: Scalar) -> String {
        let s = match value {
            Scalar::Float(x) if self.floating => {
                if self.sci_mode {
                    sci_str(x)
                } else if self.int_mode {
                    let mut s = fixed_str(x, 0);
                    if x.is_finite() {
                        s.push('.');
                    }
                    s
                } else {
                    fixed_str(x, PRECISION)
                }
            }
            other => plain_str(other),
        };
        format!("{s:>width$}", width = self.max_width)
    }
}

/// Python's `f"{value}"` for non-float elements.
fn plain_str(value: Scalar) -> String {
    match value {
        Scalar::Int(v) => v.to_string(),
        Scalar::Bool(true) => String::from("True"),
        Scalar::Bool(false) => String::from("False"),
        Scalar::Float(x) => fixed_str(x, PRECISION),
    }
}

/// Python's non-finite spellings, shared by every float format.
fn non_finite_str(x: f64) -> Option<String> {
    if x.is_nan() {
        Some(String::from("nan"))
    } else if x.is_infinite() {
        Some(String::from(if x > 0.0 { "inf" } else { "-inf" }))
    } else {
        None
    }
}

/// Python's `f"{x:.{precision}f}"`.
fn fixed_str(x: f64, precision: usize) -> String {
    non_finite_str(x).unwrap_or_else(|| format!("{x:.precision$}"))
}

/// Python's `f"{x:.4e}"`, e.g. `1.0000e-05`, `-2.5000e+10`, `1.0000e+100`.
fn sci_str(x: f64) -> String {
    if let Some(s) = non_finite_str(x) {
        return s;
    }
    let rust = format!("{x:.PRECISION$e}");
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((rust.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(shape: &[usize], v: &[f32]) -> String {
        format_tensor(shape, DisplayValues::F32(v))
    }

    fn f64s(shape: &[usize], v: &[f64]) -> String {
        format_tensor(shape, DisplayValues::F64(v))
    }

    fn i64s(shape: &[usize], v: &[i64]) -> String {
        format_tensor(shape, DisplayValues::I64(v))
    }

    fn bools(shape: &[usize], v: &[bool]) -> String {
        format_tensor(shape, DisplayValues::Bool(v))
    }

    fn arange_f32(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32).collect()
    }

    /// `(torch expression, what cotangent prints, what torch prints)`.
    fn cases() -> Vec<(&'static str, String, &'static str)> {
        let nan = f32::NAN;
        let inf = f32::INFINITY;
        vec![
            // 0-d tensors.
            ("torch.tensor(3.)", f32s(&[], &[3.0]), "tensor(3.)"),
            ("torch.tensor(0.)", f32s(&[], &[0.0]), "tensor(0.)"),
            ("torch.tensor(-0.)", f32s(&[], &[-0.0]), "tensor(-0.)"),
            ("torch.tensor(1.5)", f32s(&[], &[1.5]), "tensor(1.5000)"),
            (
                "torch.tensor(1e-5)",
                f32s(&[], &[1e-5]),
                "tensor(1.0000e-05)",
            ),
            (
                "torch.tensor(float('nan'))",
                f32s(&[], &[nan]),
                "tensor(nan)",
            ),
            (
                "torch.tensor(-float('inf'))",
                f32s(&[], &[-inf]),
                "tensor(-inf)",
            ),
            ("torch.tensor(3)", i64s(&[], &[3]), "tensor(3)"),
            ("torch.tensor(-42)", i64s(&[], &[-42]), "tensor(-42)"),
            ("torch.tensor(True)", bools(&[], &[true]), "tensor(True)"),
            ("torch.tensor(False)", bools(&[], &[false]), "tensor(False)"),
            (
                "torch.tensor(1.5, dtype=torch.float64)",
                f64s(&[], &[1.5]),
                "tensor(1.5000, dtype=torch.float64)",
            ),
            // Float modes.
            (
                "torch.tensor([[1.,2.],[3.,4.]])",
                f32s(&[2, 2], &[1.0, 2.0, 3.0, 4.0]),
                "tensor([[1., 2.],\n        [3., 4.]])",
            ),
            (
                "torch.tensor([1.5, 2.0])",
                f32s(&[2], &[1.5, 2.0]),
                "tensor([1.5000, 2.0000])",
            ),
            (
                "torch.tensor([0.1, 0.2])",
                f32s(&[2], &[0.1, 0.2]),
                "tensor([0.1000, 0.2000])",
            ),
            (
                "torch.tensor([1/3])",
                f32s(&[1], &[1.0 / 3.0]),
                "tensor([0.3333])",
            ),
            (
                "torch.tensor([-1.5, 2.25])",
                f32s(&[2], &[-1.5, 2.25]),
                "tensor([-1.5000,  2.2500])",
            ),
            (
                "torch.tensor([1e-5, 1.0])",
                f32s(&[2], &[1e-5, 1.0]),
                "tensor([1.0000e-05, 1.0000e+00])",
            ),
            (
                "torch.tensor([-1e-5, 1.0])",
                f32s(&[2], &[-1e-5, 1.0]),
                "tensor([-1.0000e-05,  1.0000e+00])",
            ),
            // Integer-valued, but max/min > 1000 switches to scientific.
            (
                "torch.tensor([1., 10000.])",
                f32s(&[2], &[1.0, 10000.0]),
                "tensor([1.0000e+00, 1.0000e+04])",
            ),
            // Integer-valued, ratio exactly 1000 stays in int mode.
            (
                "torch.tensor([1., 1000.])",
                f32s(&[2], &[1.0, 1000.0]),
                "tensor([   1., 1000.])",
            ),
            (
                "torch.tensor([1e9])",
                f32s(&[1], &[1e9]),
                "tensor([1.0000e+09])",
            ),
            (
                "torch.tensor([100.])",
                f32s(&[1], &[100.0]),
                "tensor([100.])",
            ),
            (
                "torch.tensor([1e8])",
                f32s(&[1], &[1e8]),
                "tensor([100000000.])",
            ),
            (
                "torch.tensor([-0., 1.])",
                f32s(&[2], &[-0.0, 1.0]),
                "tensor([-0., 1.])",
            ),
            (
                "torch.zeros(3)",
                f32s(&[3], &[0.0; 3]),
                "tensor([0., 0., 0.])",
            ),
            // Three significant digits after rounding: 1.03125 is a tie, rounds to even.
            (
                "torch.tensor([1.03125])",
                f32s(&[1], &[1.03125]),
                "tensor([1.0312])",
            ),
            (
                "torch.tensor([1.09375])",
                f32s(&[1], &[1.09375]),
                "tensor([1.0938])",
            ),
            // Non-finite values.
            (
                "torch.tensor([1., float('nan'), float('inf')])",
                f32s(&[3], &[1.0, nan, inf]),
                "tensor([1., nan, inf])",
            ),
            (
                "torch.tensor([float('nan'), 1.5])",
                f32s(&[2], &[nan, 1.5]),
                "tensor([   nan, 1.5000])",
            ),
            (
                "torch.tensor([-float('inf'), 2.])",
                f32s(&[2], &[-inf, 2.0]),
                "tensor([-inf, 2.])",
            ),
            (
                "torch.tensor([float('nan'), 0.])",
                f32s(&[2], &[nan, 0.0]),
                "tensor([nan, 0.])",
            ),
            (
                "torch.tensor([1e-5, float('inf')])",
                f32s(&[2], &[1e-5, inf]),
                "tensor([1.0000e-05,        inf])",
            ),
            // Integers and booleans.
            (
                "torch.arange(6).reshape(2,3)",
                i64s(&[2, 3], &[0, 1, 2, 3, 4, 5]),
                "tensor([[0, 1, 2],\n        [3, 4, 5]])",
            ),
            (
                "torch.tensor([-1, 10])",
                i64s(&[2], &[-1, 10]),
                "tensor([-1, 10])",
            ),
            (
                "torch.tensor([True, False])",
                bools(&[2], &[true, false]),
                "tensor([ True, False])",
            ),
            (
                "torch.tensor([[True], [False]])",
                bools(&[2, 1], &[true, false]),
                "tensor([[ True],\n        [False]])",
            ),
            // Higher ranks.
            (
                "torch.zeros(2,1,2)",
                f32s(&[2, 1, 2], &[0.0; 4]),
                "tensor([[[0., 0.]],\n\n        [[0., 0.]]])",
            ),
            (
                "torch.arange(8.).reshape(2,2,2)",
                f32s(&[2, 2, 2], &arange_f32(8)),
                concat!(
                    "tensor([[[0., 1.],\n",
                    "         [2., 3.]],\n",
                    "\n",
                    "        [[4., 5.],\n",
                    "         [6., 7.]]])",
                ),
            ),
            (
                "torch.zeros(1,1,1,1)",
                f32s(&[1, 1, 1, 1], &[0.0]),
                "tensor([[[[0.]]]])",
            ),
            (
                "torch.arange(4).reshape(2,1,1,2)",
                i64s(&[2, 1, 1, 2], &[0, 1, 2, 3]),
                "tensor([[[[0, 1]]],\n\n\n        [[[2, 3]]]])",
            ),
            // dtype suffix.
            (
                "torch.tensor([1., 2.], dtype=torch.float64)",
                f64s(&[2], &[1.0, 2.0]),
                "tensor([1., 2.], dtype=torch.float64)",
            ),
            (
                "torch.tensor([[1.5, 2.], [3., 4.]], dtype=torch.float64)",
                f64s(&[2, 2], &[1.5, 2.0, 3.0, 4.0]),
                "tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]], dtype=torch.float64)",
            ),
            // The suffix does not fit on the last line, so it moves to its own.
            (
                "torch.arange(12., dtype=torch.float64)",
                f64s(&[12], &(0..12).map(f64::from).collect::<Vec<_>>()),
                concat!(
                    "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11.],\n",
                    "       dtype=torch.float64)",
                ),
            ),
            // Empty tensors.
            ("torch.tensor([])", f32s(&[0], &[]), "tensor([])"),
            (
                "torch.zeros(0, 3)",
                f32s(&[0, 3], &[]),
                "tensor([], size=(0, 3))",
            ),
            (
                "torch.zeros(2, 0)",
                f32s(&[2, 0], &[]),
                "tensor([], size=(2, 0))",
            ),
            (
                "torch.zeros(0, dtype=torch.float64)",
                f64s(&[0], &[]),
                "tensor([], dtype=torch.float64)",
            ),
            (
                "torch.zeros(0, 3, dtype=torch.float64)",
                f64s(&[0, 3], &[]),
                "tensor([], size=(0, 3), dtype=torch.float64)",
            ),
            (
                "torch.zeros(0, dtype=torch.int64)",
                i64s(&[0], &[]),
                "tensor([], dtype=torch.int64)",
            ),
            (
                "torch.zeros(1, 0, 2, dtype=torch.bool)",
                bools(&[1, 0, 2], &[]),
                "tensor([], size=(1, 0, 2), dtype=torch.bool)",
            ),
            // Line wrapping: width 3 + 2 -> 14 elements per line.
            (
                "torch.arange(30.)",
                f32s(&[30], &arange_f32(30)),
                concat!(
                    "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6., ",
                    " 7.,  8.,  9., 10., 11., 12., 13.,\n",
                    "        14., 15., 16., 17., 18., 19., 20., ",
                    "21., 22., 23., 24., 25., 26., 27.,\n",
                    "        28., 29.])",
                ),
            ),
            // Width 6 + 2 -> 9 elements per line.
            (
                "torch.arange(20.) / 19",
                f32s(&[20], &(0..20).map(|i| i as f32 / 19.0).collect::<Vec<_>>()),
                concat!(
                    "tensor([0.0000, 0.0526, 0.1053, 0.1579, 0.2105, ",
                    "0.2632, 0.3158, 0.3684, 0.4211,\n",
                    "        0.4737, 0.5263, 0.5789, 0.6316, 0.6842, ",
                    "0.7368, 0.7895, 0.8421, 0.8947,\n",
                    "        0.9474, 1.0000])",
                ),
            ),
            // Rows of a matrix wrap with one more space of indentation.
            (
                "torch.arange(40.).reshape(2, 20)",
                f32s(&[2, 20], &arange_f32(40)),
                concat!(
                    "tensor([[ 0.,  1.,  2.,  3.,  4.,  5.,  6., ",
                    " 7.,  8.,  9., 10., 11., 12., 13.,\n",
                    "         14., 15., 16., 17., 18., 19.],\n",
                    "        [20., 21., 22., 23., 24., 25., 26., ",
                    "27., 28., 29., 30., 31., 32., 33.,\n",
                    "         34., 35., 36., 37., 38., 39.]])",
                ),
            ),
            // Summarization (numel > 1000): the formatter only sees the shown values, so the
            // integer-valued 0..1999 switches to scientific (1999 / 1 > 1000).
            (
                "torch.arange(2000.)",
                f32s(&[2000], &arange_f32(2000)),
                concat!(
                    "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n",
                    "        1.9990e+03])",
                ),
            ),
            (
                "torch.arange(1001.)",
                f32s(&[1001], &arange_f32(1001)),
                "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])",
            ),
            (
                "torch.arange(2000)",
                i64s(&[2000], &(0..2000).collect::<Vec<_>>()),
                "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])",
            ),
            (
                "torch.zeros(100, 100)",
                f32s(&[100, 100], &[0.0; 10_000]),
                concat!(
                    "tensor([[0., 0., 0.,  ..., 0., 0., 0.],\n",
                    "        [0., 0., 0.,  ..., 0., 0., 0.],\n",
                    "        [0., 0., 0.,  ..., 0., 0., 0.],\n",
                    "        ...,\n",
                    "        [0., 0., 0.,  ..., 0., 0., 0.],\n",
                    "        [0., 0., 0.,  ..., 0., 0., 0.],\n",
                    "        [0., 0., 0.,  ..., 0., 0., 0.]])",
                ),
            ),
            (
                "torch.arange(3000).reshape(1000, 3)",
                i64s(&[1000, 3], &(0..3000).collect::<Vec<_>>()),
                concat!(
                    "tensor([[   0,    1,    2],\n",
                    "        [   3,    4,    5],\n",
                    "        [   6,    7,    8],\n",
                    "        ...,\n",
                    "        [2991, 2992, 2993],\n",
                    "        [2994, 2995, 2996],\n",
                    "        [2997, 2998, 2999]])",
                ),
            ),
            (
                "torch.zeros(300, 2, 2)",
                f32s(&[300, 2, 2], &[0.0; 1200]),
                concat!(
                    "tensor([[[0., 0.],\n",
                    "         [0., 0.]],\n",
                    "\n",
                    "        [[0., 0.],\n",
                    "         [0., 0.]],\n",
                    "\n",
                    "        [[0., 0.],\n",
                    "         [0., 0.]],\n",
                    "\n",
                    "        ...,\n",
                    "\n",
                    "        [[0., 0.],\n",
                    "         [0., 0.]],\n",
                    "\n",
                    "        [[0., 0.],\n",
                    "         [0., 0.]],\n",
                    "\n",
                    "        [[0., 0.],\n",
                    "         [0., 0.]]])",
                ),
            ),
            (
                "torch.ones(2000, dtype=torch.bool)",
                bools(&[2000], &[true; 2000]),
                "tensor([True, True, True,  ..., True, True, True])",
            ),
            (
                "torch.arange(2000., dtype=torch.float64)",
                f64s(&[2000], &(0..2000).map(f64::from).collect::<Vec<_>>()),
                concat!(
                    "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n",
                    "        1.9990e+03], dtype=torch.float64)",
                ),
            ),
        ]
    }

    #[test]
    fn matches_torch_repr() {
        let mut failures = Vec::new();
        for (expr, got, want) in cases() {
            if got != want {
                failures.push(format!("{expr}\n  got:  {got:?}\n  want: {want:?}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn python_float_formats() {
        assert_eq!(sci_str(1e-5), "1.0000e-05");
        assert_eq!(sci_str(-2.5e10), "-2.5000e+10");
        assert_eq!(sci_str(1e100), "1.0000e+100");
        assert_eq!(sci_str(-0.0), "-0.0000e+00");
        assert_eq!(sci_str(9.99996e-5), "1.0000e-04");
        assert_eq!(sci_str(f64::NAN), "nan");
        assert_eq!(fixed_str(-0.0, 0), "-0");
        assert_eq!(fixed_str(0.5, 0), "0");
        assert_eq!(fixed_str(2.5, 0), "2");
        assert_eq!(fixed_str(f64::NEG_INFINITY, 4), "-inf");
        assert_eq!(python_tuple(&[0]), "(0,)");
        assert_eq!(python_tuple(&[0, 3]), "(0, 3)");
    }

    #[test]
    fn large_rank_and_long_lines_do_not_panic() {
        let shape = [1; 90];
        let s = format_tensor(&shape, DisplayValues::I64(&[7]));
        assert!(s.starts_with("tensor([[[[") && s.ends_with("]]]])"));
        let s = f32s(&[3], &[1.0e-30, 1.0e30, -3.0]);
        assert_eq!(s, "tensor([ 1.0000e-30,  1.0000e+30, -3.0000e+00])");
    }

    #[test]
    #[should_panic(expected = "needs 4 values")]
    fn shape_mismatch_panics() {
        let _ = f32s(&[2, 2], &[1.0]);
    }
}
