//! The digits loader and its subsets: unreadable or malformed files (named with the line and
//! column), indices and fractions out of range.

use std::io::Write;

use cotangent::Tensor;
use cotangent::datasets::{Digits, load_digits};

/// A gzip file holding `text`, in a fresh temporary directory.
fn gz(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cotangent-catalogue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).expect("in memory");
    std::fs::write(&path, enc.finish().expect("in memory")).expect("temp file");
    path
}

fn row(pixels: &str, label: &str) -> String {
    format!("{pixels},{label}\n")
}

fn zeros64() -> String {
    vec!["0"; 64].join(",")
}

fn tiny() -> Digits {
    Digits {
        images: Tensor::zeros(&[2, 1, 8, 8]),
        labels: Tensor::new([0i64, 1]),
    }
}

bad_result! {
    load_digits_missing_file: Data("", "cannot read the file") =>
        load_digits("/nonexistent/digits.csv.gz");
    load_digits_not_gzip: Data("", "is not gzip-compressed (it does not start with the bytes 1f 8b)") =>
        { let p = std::env::temp_dir().join(format!("cotangent-plain-{}.csv", std::process::id())); std::fs::write(&p, "0,1").unwrap(); load_digits(p) };
    load_digits_damaged_gzip: Data("", "cannot decompress") =>
        { let p = std::env::temp_dir().join(format!("cotangent-damaged-{}.gz", std::process::id())); std::fs::write(&p, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff]).unwrap(); load_digits(p) };
    load_digits_short_row: Data("", "line 2 has 3 columns, expected 65: 64 pixels then the label") =>
        load_digits(gz("short.gz", &(row(&zeros64(), "1") + "1,2,3\n")));
    load_digits_pixel_out_of_range: Data("", "line 1, column 1: '17' is not an integer 0..16") =>
        load_digits(gz("pixel.gz", &row(&format!("17{}", &zeros64()[1..]), "0")));
    load_digits_pixel_not_a_number: Data("", "line 1, column 1: 'x' is not an integer 0..16") =>
        load_digits(gz("nan.gz", &row(&format!("x{}", &zeros64()[1..]), "0")));
    load_digits_label_out_of_range: Data("", "line 1, column 65: label '10' is not a class 0..9") =>
        load_digits(gz("label.gz", &row(&zeros64(), "10")));
    load_digits_empty: Data("", "holds no rows") =>
        load_digits(gz("empty.gz", ""));
}

bad! {
    subset_index_out_of_range: Index("Digits::subset", "index 2 is out of range for 2 samples") =>
        tiny().subset(&[0, 2]);
    split_fraction_above_one: Value("Digits::split", "test_fraction must be in [0, 1], got 1.5") =>
        tiny().split(1.5, 0);
    split_fraction_nan: Value("Digits::split", "test_fraction must be in [0, 1], got NaN") =>
        tiny().split(f64::NAN, 0);
}
