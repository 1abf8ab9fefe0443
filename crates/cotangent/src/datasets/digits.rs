//! The UCI "Optical Recognition of Handwritten Digits" test set (E. Alpaydin, 1998; CC BY 4.0),
//! as scikit-learn ships it: `digits.csv.gz`, one row a sample, 64 pixel values 0..16 then
//! the label 0..9, no header. Attribution: `crates/cotangent/data/README.md`.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, raise};
use crate::trace::Tensor;

const PIXELS: usize = 64;
const COLUMNS: usize = PIXELS + 1;
const MAX_PIXEL: u8 = 16;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Where the crate keeps its copy, relative to the crate root.
const REPO_COPY: &str = "crates/cotangent/data/digits.csv.gz";

/// Handwritten digits: 8x8 grey-scale images and their classes.
#[derive(Clone, Debug)]
pub struct Digits {
    /// `[n, 1, 8, 8]` f32 images (NCHW, one channel), pixel value / 16, so in `[0, 1]`.
    pub images: Tensor,
    /// `[n]` i64 class labels 0..9 (the dtype `cross_entropy` and `nll_loss` take).
    pub labels: Tensor,
}

impl Digits {
    /// The number of classes, 10.
    pub const NUM_CLASSES: usize = 10;

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.shape()[0]
    }

    /// `true` if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples at `indices`, in that order (repeats allowed), e.g. a minibatch.
    ///
    /// ```
    /// # let digits = cotangent::datasets::load_digits_default()?;
    /// let batch = digits.subset(&[0, 10, 20]);
    /// assert_eq!(batch.images.shape(), &[3, 1, 8, 8]);
    /// assert_eq!(batch.labels.to_vec::<i64>(), vec![0, 0, 0]);
    /// # Ok::<(), cotangent::Error>(())
    /// ```
    ///
    /// # Panics
    /// If an index is `>= self.len()`.
    #[track_caller]
    pub fn subset(&self, indices: &[usize]) -> Digits {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            raise(Error::index(
                "Digits::subset",
                format!("index {bad} is out of range for {} samples", self.len()),
            ));
        }
        let index = Tensor::new(indices.iter().map(|&i| i as i64).collect::<Vec<_>>());
        Digits {
            images: self.images.index_select(0, &index),
            labels: self.labels.index_select(0, &index),
        }
    }

    /// A seeded random train/test split: `(train, test)` with `ceil(test_fraction * len)`
    /// test samples (scikit-learn's `train_test_split` rounding), not stratified; both parts
    /// come in shuffled order.
    ///
    /// The shuffle is a Fisher-Yates pass driven by SplitMix64 seeded with `seed`, so the
    /// same seed gives the same split on every machine, and the global RNG state
    /// ([`crate::manual_seed`]) is neither used nor changed.
    ///
    /// ```
    /// # fn main() -> cotangent::Result<()> {
    /// let digits = cotangent::datasets::load_digits_default()?;
    /// let (train, test) = digits.split(0.2, 0);
    /// assert_eq!((train.len(), test.len()), (1437, 360));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Panics
    /// If `test_fraction` is not in `[0, 1]`.
    #[track_caller]
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Digits, Digits) {
        if !(0.0..=1.0).contains(&test_fraction) {
            raise(Error::value(
                "Digits::split",
                format!("test_fraction must be in [0, 1], got {test_fraction}"),
            ));
        }
        let n = self.len();
        let n_test = (test_fraction * n as f64).ceil() as usize;
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = SplitMix64(seed);
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let (test, train) = order.split_at(n_test);
        (self.subset(train), self.subset(test))
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-mixed 64-bit generator, enough for a
/// reproducible shuffle.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` by multiply-shift; its bias (`bound / 2^64`) is far below
    /// anything a shuffle of a data set could show.
    fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

/// Reads `digits.csv.gz` from `path`: 64 pixel values (integers 0..16) then the label
/// (0..9) per line, gzip-compressed. Every gzip member is read, as `gzip -d` does (a file
/// made by `cat a.gz b.gz` holds the rows of both).
///
/// ```
/// # use cotangent::datasets::load_digits;
/// let digits = load_digits(concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv.gz"))?;
/// assert_eq!(digits.len(), 1797);
/// let missing = load_digits("no/such/digits.csv.gz").unwrap_err();
/// assert!(missing.to_string().contains("cannot read"));
/// # Ok::<(), cotangent::Error>(())
/// ```
///
/// # Errors
/// [`Error::Data`] naming the path (and line and column) if the file cannot be read, is not
/// gzip, has bytes after its gzip data, or holds a row that is not 64 integers 0..16
/// followed by a label 0..9.
pub fn load_digits(path: impl AsRef<Path>) -> Result<Digits> {
    let path = path.as_ref();
    let fail = |msg: String| Error::Data(format!("load_digits: {}{msg}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| {
        fail(format!(
            ": cannot read the file ({e}); the repository keeps a copy at {REPO_COPY} \
             (load_digits_default() reads it)"
        ))
    })?;
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Err(fail(
            " is not gzip-compressed (it does not start with the bytes 1f 8b); expected \
             digits.csv.gz as scikit-learn ships it"
                .into(),
        ));
    }
    let text = gunzip(&bytes).map_err(fail)?;

    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let fields: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
        if fields.len() != COLUMNS {
            let plural = if fields.len() == 1 { "" } else { "s" };
            return Err(fail(format!(
                " line {line_no} has {} column{plural}, expected {COLUMNS}: {PIXELS} pixels \
                 then the label",
                fields.len()
            )));
        }
        for (j, field) in fields[..PIXELS].iter().enumerate() {
            let value = field.trim();
            match value.parse::<u8>() {
                Ok(v) if v <= MAX_PIXEL => pixels.push(f32::from(v) / f32::from(MAX_PIXEL)),
                _ => {
                    return Err(fail(format!(
                        " line {line_no}, column {}: '{value}' is not an integer 0..{MAX_PIXEL}",
                        j + 1
                    )));
                }
            }
        }
        let label = fields[PIXELS].trim();
        match label.parse::<u8>() {
            Ok(v) if usize::from(v) < Digits::NUM_CLASSES => labels.push(i64::from(v)),
            _ => {
                return Err(fail(format!(
                    " line {line_no}, column {COLUMNS}: label '{label}' is not a class 0..{}",
                    Digits::NUM_CLASSES - 1
                )));
            }
        }
    }
    if labels.is_empty() {
        return Err(fail(" holds no rows".into()));
    }
    let n = labels.len();
    Ok(Digits {
        images: Tensor::from_vec(pixels, &[n, 1, 8, 8])?,
        labels: Tensor::from_vec(labels, &[n])?,
    })
}

/// The text of a gzip file, every member of it: `cat a.gz b.gz` makes a file of two members,
/// which `gzip -d` decompresses whole, so reading only the first would silently drop rows.
/// Bytes after the last member that do not start another are an error, not ignored. The
/// error is the message's tail after the path.
fn gunzip(bytes: &[u8]) -> std::result::Result<String, String> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if !rest.starts_with(&GZIP_MAGIC) {
            return Err(format!(
                ": {} bytes of trailing data after the gzip data, from byte {}; the file is \
                 damaged (a complete file ends with its last gzip member)",
                rest.len(),
                bytes.len() - rest.len()
            ));
        }
        // The `bufread` decoder stops exactly at the end of its member, leaving the rest.
        let mut member = flate2::bufread::GzDecoder::new(rest);
        member
            .read_to_end(&mut out)
            .map_err(|e| format!(": cannot decompress ({e}); the file is damaged"))?;
        rest = member.into_inner();
    }
    String::from_utf8(out)
        .map_err(|e| format!(": cannot decompress ({e}); the file is not the digits CSV text"))
}

/// Reads the crate's own copy of the digits (`crates/cotangent/data/digits.csv.gz`, found
/// through the crate's manifest directory at compile time): 1797 samples.
///
/// ```
/// # fn main() -> cotangent::Result<()> {
/// let digits = cotangent::datasets::load_digits_default()?;
/// assert_eq!(digits.images.shape(), &[1797, 1, 8, 8]);
/// assert_eq!(digits.labels.dtype(), cotangent::DType::I64);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// As [`load_digits`], e.g. if the file was removed from the source tree.
pub fn load_digits_default() -> Result<Digits> {
    load_digits(default_path())
}

/// `$COTANGENT_DIGITS` if set, else the crate's copy in the source tree, else the same
/// path relative to the working directory from the repository root (a binary copied to
/// another machine and run from a checkout there, as the GPU suite does).
fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("COTANGENT_DIGITS") {
        return PathBuf::from(p);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz");
    if built.exists() {
        return built;
    }
    PathBuf::from("crates/cotangent/data/digits.csv.gz")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::DType;
    use std::io::Write;

    /// A fresh file in the system temp dir; removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, bytes: &[u8]) -> TempFile {
            static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let unique = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "cotangent-digits-{}-{unique}-{name}",
                std::process::id()
            ));
            std::fs::write(&path, bytes).unwrap();
            TempFile(path)
        }

        fn gzipped(name: &str, text: &str) -> TempFile {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(text.as_bytes()).unwrap();
            TempFile::new(name, &encoder.finish().unwrap())
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn row(pixel: &str, label: &str) -> String {
        let mut fields = vec![pixel; PIXELS];
        fields.push(label);
        fields.join(",") + "\n"
    }

    fn error_of(path: &Path) -> String {
        match load_digits(path) {
            Err(Error::Data(msg)) => msg,
            other => panic!("expected Error::Data, got {other:?}"),
        }
    }

    #[test]
    fn loads_the_repository_copy() {
        let digits = load_digits_default().unwrap();
        assert_eq!(digits.len(), 1797);
        assert_eq!(digits.images.shape(), &[1797, 1, 8, 8]);
        assert_eq!(digits.images.dtype(), DType::F32);
        assert_eq!(digits.labels.dtype(), DType::I64);
        // Class counts of the file, from `zcat digits.csv.gz | cut -d, -f65 | sort | uniq -c`.
        let mut counts = [0usize; 10];
        for label in digits.labels.to_vec::<i64>() {
            counts[label as usize] += 1;
        }
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        // First row of the file: 0,0,5,13,9,1,0,0,... label 0.
        let first: Vec<f32> = digits.images.to_vec::<f32>()[..8].to_vec();
        let expected: Vec<f32> = [0, 0, 5, 13, 9, 1, 0, 0].map(|v| v as f32 / 16.0).to_vec();
        assert_eq!(first, expected);
        assert_eq!(digits.labels.to_vec::<i64>()[0], 0);
        let pixels = digits.images.to_vec::<f32>();
        assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(pixels.iter().copied().fold(0.0f32, f32::max), 1.0);
    }

    #[test]
    fn reads_a_small_valid_file() {
        let file = TempFile::gzipped("ok.csv.gz", &(row("16", "3") + &row("0", "9")));
        let digits = load_digits(&file.0).unwrap();
        assert_eq!(digits.len(), 2);
        assert_eq!(digits.labels.to_vec::<i64>(), vec![3, 9]);
        let pixels = digits.images.to_vec::<f32>();
        assert!(pixels[..64].iter().all(|&p| p == 1.0));
        assert!(pixels[64..].iter().all(|&p| p == 0.0));
    }

    #[test]
    fn missing_file_names_the_path_and_the_repository_copy() {
        let path = std::env::temp_dir().join("cotangent-no-such-dir/digits.csv.gz");
        let msg = error_of(&path);
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("cannot read"), "{msg}");
        assert!(msg.contains(REPO_COPY), "{msg}");
    }

    #[test]
    fn plain_csv_is_not_gzip() {
        let file = TempFile::new("plain.csv", row("1", "1").as_bytes());
        let msg = error_of(&file.0);
        assert!(msg.contains("is not gzip-compressed"), "{msg}");
    }

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn every_member_of_a_multi_member_gzip_is_read() {
        // `cat a.gz b.gz > ab.gz`: gzip -d gives both parts, so must load_digits.
        let (a, b) = (row("16", "3") + &row("0", "9"), row("8", "5"));
        let file = TempFile::new("cat.csv.gz", &[gzip(&a), gzip(&b)].concat());
        let digits = load_digits(&file.0).unwrap();
        assert_eq!(digits.labels.to_vec::<i64>(), vec![3, 9, 5]);
        assert_eq!(
            digits.images.select(0, 2).to_vec::<f32>(),
            vec![0.5; PIXELS]
        );
        // A member may also split a row, and an empty member is fine.
        let (head, tail) = a.split_at(10);
        let parts = [gzip(head), gzip(""), gzip(tail), gzip(&b)].concat();
        let file = TempFile::new("split.csv.gz", &parts);
        assert_eq!(load_digits(&file.0).unwrap().len(), 3);
    }

    #[test]
    fn trailing_garbage_after_the_gzip_data_is_an_error_naming_the_file() {
        let good = gzip(&row("1", "1"));
        for garbage in [&b"oops"[..], &[0, 0, 0, 0], b"\n"] {
            let file = TempFile::new("trailing.csv.gz", &[&good[..], garbage].concat());
            let msg = error_of(&file.0);
            assert!(msg.starts_with("load_digits: "), "{msg}");
            assert!(msg.contains(&file.0.display().to_string()), "{msg}");
            assert!(
                msg.contains(&format!(
                    "{} bytes of trailing data after the gzip data, from byte {}",
                    garbage.len(),
                    good.len()
                )),
                "{msg}"
            );
        }
        // A second member that is not gzip after all is damaged data too.
        let file = TempFile::new(
            "bad-member.csv.gz",
            &[&good[..], &[0x1f, 0x8b, 0, 1]].concat(),
        );
        assert!(error_of(&file.0).contains("cannot decompress"));
    }

    #[test]
    fn truncated_gzip_is_damaged() {
        let good = TempFile::gzipped("good.csv.gz", &row("1", "1").repeat(20));
        let bytes = std::fs::read(&good.0).unwrap();
        let file = TempFile::new("cut.csv.gz", &bytes[..bytes.len() / 2]);
        let msg = error_of(&file.0);
        assert!(msg.contains("cannot decompress"), "{msg}");
    }

    #[test]
    fn malformed_value_names_line_and_column() {
        let mut bad = row("2", "1");
        bad.replace_range(8..9, "x"); // fifth pixel: "2,2,2,2,x,..."
        let text = row("1", "1").repeat(16) + &bad;
        let file = TempFile::gzipped("bad-value.csv.gz", &text);
        let msg = error_of(&file.0);
        assert!(
            msg.ends_with("line 17, column 5: 'x' is not an integer 0..16"),
            "{msg}"
        );
    }

    #[test]
    fn pixel_out_of_range_is_an_error() {
        let file = TempFile::gzipped("big-pixel.csv.gz", &row("17", "1"));
        let msg = error_of(&file.0);
        assert!(
            msg.ends_with("line 1, column 1: '17' is not an integer 0..16"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_column_count_names_the_line() {
        let short = vec!["0"; PIXELS].join(",") + "\n";
        let text = row("1", "1").repeat(16) + &short;
        let file = TempFile::gzipped("short.csv.gz", &text);
        let msg = error_of(&file.0);
        assert!(
            msg.ends_with("line 17 has 64 columns, expected 65: 64 pixels then the label"),
            "{msg}"
        );
        let blank = TempFile::gzipped("blank.csv.gz", &(row("1", "1") + "\n" + &row("1", "1")));
        let msg = error_of(&blank.0);
        assert!(
            msg.ends_with("line 2 has 1 column, expected 65: 64 pixels then the label"),
            "{msg}"
        );
    }

    #[test]
    fn label_out_of_range_is_an_error() {
        let file = TempFile::gzipped("label.csv.gz", &(row("0", "9") + &row("0", "10")));
        let msg = error_of(&file.0);
        assert!(
            msg.ends_with("line 2, column 65: label '10' is not a class 0..9"),
            "{msg}"
        );
    }

    #[test]
    fn empty_file_is_an_error() {
        let file = TempFile::gzipped("empty.csv.gz", "");
        assert!(error_of(&file.0).ends_with("holds no rows"));
    }

    #[test]
    fn split_is_disjoint_sized_and_deterministic() {
        let digits = load_digits_default().unwrap();
        let (train, test) = digits.split(0.25, 7);
        assert_eq!(test.len(), (0.25f64 * 1797.0).ceil() as usize);
        assert_eq!(train.len() + test.len(), 1797);

        let rows = |d: &Digits| -> Vec<Vec<u32>> {
            d.images
                .to_vec::<f32>()
                .chunks(PIXELS)
                .map(|c| c.iter().map(|p| p.to_bits()).collect())
                .collect()
        };
        let (train_rows, test_rows) = (rows(&train), rows(&test));
        // Every sample lands in exactly one part: the multiset union equals the whole set.
        let mut all = rows(&digits);
        let mut union = [train_rows.clone(), test_rows.clone()].concat();
        all.sort();
        union.sort();
        assert_eq!(all, union);

        let (train2, test2) = digits.split(0.25, 7);
        assert_eq!(rows(&train2), train_rows);
        assert_eq!(test2.labels.to_vec::<i64>(), test.labels.to_vec::<i64>());
        let (_, test3) = digits.split(0.25, 8);
        assert_ne!(rows(&test3), test_rows, "another seed gives another split");
    }

    #[test]
    fn split_indices_are_a_permutation_and_classes_stay_balanced() {
        // Label each sample by its row number to check disjointness exactly.
        let n = 1000;
        let ids = Digits {
            images: Tensor::from_vec(vec![0.0f32; n * PIXELS], &[n, 1, 8, 8]).unwrap(),
            labels: Tensor::new((0..n as i64).collect::<Vec<_>>()),
        };
        let (train, test) = ids.split(0.3, 42);
        let mut seen: Vec<i64> =
            [train.labels.to_vec::<i64>(), test.labels.to_vec::<i64>()].concat();
        seen.sort();
        assert_eq!(seen, (0..n as i64).collect::<Vec<_>>());
        assert_eq!(test.len(), 300);

        // Each class's share of the test set stays near 10% (about 180 samples per class,
        // 360 test samples: a class count outside 18..54 would be a 4-sigma event).
        let digits = load_digits_default().unwrap();
        let (_, test) = digits.split(0.2, 1);
        let mut counts = [0usize; 10];
        for label in test.labels.to_vec::<i64>() {
            counts[label as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (18..=54).contains(&c)), "{counts:?}");
    }

    #[test]
    fn split_edges() {
        let digits = load_digits_default().unwrap().subset(&[0, 1, 2, 3, 4]);
        let (train, test) = digits.split(0.0, 3);
        assert_eq!((train.len(), test.len()), (5, 0));
        assert_eq!(test.images.shape(), &[0, 1, 8, 8]);
        let (train, test) = digits.split(1.0, 3);
        assert_eq!((train.len(), test.len()), (0, 5));
    }

    #[test]
    #[should_panic(expected = "Digits::split: test_fraction must be in [0, 1], got 1.5")]
    fn split_rejects_a_bad_fraction() {
        load_digits_default().unwrap().split(1.5, 0);
    }

    #[test]
    fn subset_picks_rows_in_order() {
        let digits = load_digits_default().unwrap();
        let sub = digits.subset(&[5, 0, 5]);
        let labels = digits.labels.to_vec::<i64>();
        assert_eq!(
            sub.labels.to_vec::<i64>(),
            vec![labels[5], labels[0], labels[5]]
        );
        let pixels = digits.images.to_vec::<f32>();
        assert_eq!(sub.images.to_vec::<f32>()[..64], pixels[5 * 64..6 * 64]);
    }

    #[test]
    #[should_panic(expected = "Digits::subset: index 1797 is out of range for 1797 samples")]
    fn subset_rejects_out_of_range() {
        load_digits_default().unwrap().subset(&[1797]);
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // The first five outputs for seed 1234567 of the reference algorithm (Vigna's
        // splitmix64.c), as Rosetta Code's "Pseudo-random numbers/Splitmix64" task lists them.
        let mut rng = SplitMix64(1234567);
        let expected = [
            6457827717110365317u64,
            3203168211198807973,
            9817491932198370423,
            4593380528125082431,
            16408922859458223821,
        ];
        for e in expected {
            assert_eq!(rng.next_u64(), e);
        }
    }
}
