//! PNG line charts for the examples: one or more panels stacked vertically (e.g. training loss
//! on top, accuracy below), sharing the x axis, each with its own y axis and legend.
//!
//! Include it from an example with `#[path = "common/plot.rs"] mod plot;` (cargo treats
//! only files directly in `examples/` as examples). Drawing is plotters' bitmap backend into
//! an RGB buffer, text through ab_glyph with an embedded subset of DejaVu Sans (licence in
//! `fonts/`), so it needs no system fonts; the `png` crate writes the file.

use std::error::Error;
use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// One line: `ys[i]` plotted at `xs[i]`.
pub struct Series<'a> {
    /// Legend entry.
    pub name: &'a str,
    /// x values (e.g. epochs 1, 2, ...).
    pub xs: &'a [f64],
    /// y values, as many as `xs`.
    pub ys: &'a [f64],
}

/// One chart of the stack, with its own y axis.
pub struct Panel<'a> {
    /// y-axis label, e.g. `"loss"` or `"test accuracy (%)"`.
    pub y_label: &'a str,
    /// The lines of this panel.
    pub series: Vec<Series<'a>>,
    /// Fixed y range, or `None` to fit the data with a margin.
    pub y_range: Option<(f64, f64)>,
}

const WIDTH: u32 = 900;
const PANEL_HEIGHT: u32 = 330;
const TITLE_HEIGHT: u32 = 44;
/// Matplotlib's "tab10" colours, in order: the series of every panel cycle through them.
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
const FONT: &str = "sans-serif";

fn register_embedded_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        let bytes = include_bytes!("fonts/DejaVuSans-ASCII.ttf");
        if register_font(FONT, FontStyle::Normal, bytes).is_err() {
            panic!("plot: the embedded font fonts/DejaVuSans-ASCII.ttf is not a valid font");
        }
    });
}

/// Writes a PNG at `path`: `title` on top, then one panel per entry of `panels`, stacked,
/// all sharing the x axis labelled `x_label` (900 px wide, 330 px per panel).
///
/// # Errors
/// If a series has `xs` and `ys` of different lengths or no points, a panel has no series,
/// or drawing or writing the file fails.
pub fn line_chart(
    path: impl AsRef<Path>,
    title: &str,
    x_label: &str,
    panels: &[Panel],
) -> Result<(), Box<dyn Error>> {
    let path = path.as_ref();
    if panels.is_empty() {
        return Err(format!("plot::line_chart({}): no panels to draw", path.display()).into());
    }
    for panel in panels {
        if panel.series.is_empty() {
            return Err(
                format!("plot::line_chart: panel '{}' has no series", panel.y_label).into(),
            );
        }
        for s in &panel.series {
            if s.xs.len() != s.ys.len() || s.xs.is_empty() {
                return Err(format!(
                    "plot::line_chart: series '{}' has {} x values and {} y values; give the \
                     same number, at least one",
                    s.name,
                    s.xs.len(),
                    s.ys.len()
                )
                .into());
            }
        }
    }
    register_embedded_font();

    let height = TITLE_HEIGHT + PANEL_HEIGHT * panels.len() as u32;
    let mut pixels = vec![0u8; (WIDTH * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, (FONT, 24))?;
        let all_xs = panels.iter().flat_map(|p| &p.series).flat_map(|s| s.xs);
        let x_range = padded_range(all_xs.copied(), 0.02);
        let integer_xs = panels
            .iter()
            .flat_map(|p| &p.series)
            .flat_map(|s| s.xs)
            .all(|x| x.fract() == 0.0);
        for (area, panel) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
            let (y0, y1) = panel.y_range.unwrap_or_else(|| {
                padded_range(panel.series.iter().flat_map(|s| s.ys).copied(), 0.08)
            });
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .x_label_area_size(42)
                .y_label_area_size(64)
                .build_cartesian_2d(x_range.0..x_range.1, y0..y1)?;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(panel.y_label)
                .label_style((FONT, 14))
                .axis_desc_style((FONT, 16))
                .x_label_formatter(&|x| {
                    if integer_xs {
                        format!("{x:.0}")
                    } else {
                        format!("{x}")
                    }
                })
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.12))
                .draw()?;
            // The i-th series of every panel gets the i-th colour, so one model keeps its
            // colour from panel to panel.
            for (i, s) in panel.series.iter().enumerate() {
                let color = COLORS[i % COLORS.len()];
                let style = ShapeStyle::from(color).filled().stroke_width(2);
                let points = s.xs.iter().copied().zip(s.ys.iter().copied());
                chart
                    .draw_series(LineSeries::new(points, style).point_size(3))?
                    .label(s.name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
            }
            chart
                .configure_series_labels()
                .position(legend_position(panel, (y0, y1)))
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .draw()?;
        }
        root.present()?;
    }

    let file = std::fs::File::create(path)
        .map_err(|e| format!("plot::line_chart: cannot create {}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), WIDTH, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(())
}

/// Upper right unless the lines end in the upper half of the panel (a rising accuracy
/// curve), then lower right, so the legend does not cover where the lines end up.
fn legend_position(panel: &Panel, (y0, y1): (f64, f64)) -> SeriesLabelPosition {
    let ends: Vec<f64> = panel
        .series
        .iter()
        .filter_map(|s| s.ys.last().copied())
        .collect();
    let mean_end = ends.iter().sum::<f64>() / ends.len() as f64;
    if mean_end > (y0 + y1) / 2.0 {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    }
}

/// `(min - pad, max + pad)` with `pad` a fraction of the span; a flat series gets a unit span
/// so the axis is not degenerate. NaN and infinite values are skipped.
fn padded_range(values: impl Iterator<Item = f64>, pad_fraction: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * pad_fraction;
    (lo - pad, hi + pad)
}
