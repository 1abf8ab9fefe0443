//! The examples' PNG line-chart helper (`examples/common/plot.rs`): it writes a decodable PNG
//! of the expected size that shows every series, and refuses malformed input.

#[path = "../examples/common/plot.rs"]
mod plot;

use plot::{Panel, Series, line_chart};

fn temp_png(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cotangent-plot-{}-{name}.png", std::process::id()))
}

#[test]
fn writes_a_png_with_both_panels_and_series_colours() {
    let epochs: Vec<f64> = (1..=10).map(f64::from).collect();
    let falling: Vec<f64> = epochs.iter().map(|e| 2.0 / e).collect();
    let rising: Vec<f64> = epochs.iter().map(|e| 100.0 - 40.0 / e).collect();
    let path = temp_png("ok");
    line_chart(
        &path,
        "loss and accuracy",
        "epoch",
        &[
            Panel {
                y_label: "loss",
                series: vec![Series {
                    name: "loss",
                    xs: &epochs,
                    ys: &falling,
                }],
                y_range: None,
            },
            Panel {
                y_label: "accuracy (%)",
                series: vec![
                    Series {
                        name: "a",
                        xs: &epochs,
                        ys: &rising,
                    },
                    Series {
                        name: "b",
                        xs: &epochs,
                        ys: &falling,
                    },
                ],
                y_range: Some((0.0, 100.0)),
            },
        ],
    )
    .unwrap();

    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!((info.width, info.height), (900, 44 + 2 * 330));
    assert_eq!(info.color_type, png::ColorType::Rgb);

    // The first two series colours (tab10 blue and orange) are drawn, and some dark text.
    let rgb: Vec<&[u8]> = pixels.chunks(3).collect();
    let count = |c: [u8; 3]| rgb.iter().filter(|p| **p == c).count();
    assert!(count([31, 119, 180]) > 500, "blue lines missing");
    assert!(count([255, 127, 14]) > 200, "orange line missing");
    assert!(
        rgb.iter().filter(|p| p.iter().all(|&v| v < 60)).count() > 500,
        "text missing"
    );
}

#[test]
fn refuses_mismatched_series_and_empty_panels() {
    let xs = [1.0, 2.0, 3.0];
    let path = temp_png("bad");
    let err = line_chart(
        &path,
        "t",
        "x",
        &[Panel {
            y_label: "y",
            series: vec![Series {
                name: "short",
                xs: &xs,
                ys: &[1.0, 2.0],
            }],
            y_range: None,
        }],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("series 'short' has 3 x values and 2 y values"),
        "{err}"
    );
    let err = line_chart(&path, "t", "x", &[]).unwrap_err();
    assert!(err.to_string().contains("no panels"), "{err}");
    let err = line_chart(
        &path,
        "t",
        "x",
        &[Panel {
            y_label: "loss",
            series: vec![],
            y_range: None,
        }],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("panel 'loss' has no series"),
        "{err}"
    );
    assert!(!path.exists());
}
