//! Where an array's buffer lives: torch's `torch.device`, as a Rust enum.
//!
//! `Device::Cuda(i)` exists in every build so that code naming it compiles with or without
//! the `cuda` feature; without the feature, moving a tensor there is an [`Error::Device`]
//! that says how to rebuild.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Error;

/// A device (torch: `torch.device("cpu")`, `torch.device("cuda:0")`).
///
/// ```
/// use cotangent::Device;
/// assert_eq!("cuda:1".parse::<Device>().unwrap(), Device::Cuda(1));
/// assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
/// assert_eq!(Device::Cpu.to_string(), "cpu");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Device {
    /// Host memory (the default).
    #[default]
    Cpu,
    /// The NVIDIA GPU of this ordinal (needs the `cuda` feature and a driver at run time).
    Cuda(usize),
}

impl Device {
    /// `true` for [`Device::Cuda`].
    pub fn is_cuda(self) -> bool {
        matches!(self, Device::Cuda(_))
    }
}

/// The device factories use when none is given: 0 for the CPU, `i + 1` for `Cuda(i)`.
static DEFAULT_DEVICE: AtomicUsize = AtomicUsize::new(0);

/// Make `device` the default for tensors created without one: `from_vec`, `from_slice`,
/// `zeros`, `ones`, `full`, `arange`, `eye`, `rand`, ... (torch:
/// `torch.set_default_device`). Numbers inside ops (`x * 2.0`) are not tensors and are
/// unaffected. Process-wide.
///
/// ```
/// use cotangent::{Device, Tensor, default_device, set_default_device};
/// set_default_device(Device::Cpu);
/// assert_eq!(Tensor::zeros(&[2]).device(), default_device());
/// ```
pub fn set_default_device(device: Device) {
    let code = match device {
        Device::Cpu => 0,
        Device::Cuda(i) => i + 1,
    };
    DEFAULT_DEVICE.store(code, Ordering::Relaxed);
}

/// The device of [`set_default_device`] (the CPU unless changed).
#[inline]
pub fn default_device() -> Device {
    match DEFAULT_DEVICE.load(Ordering::Relaxed) {
        0 => Device::Cpu,
        i => Device::Cuda(i - 1),
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl FromStr for Device {
    type Err = Error;

    /// torch's device strings: `cpu`, `cuda` (device 0), `cuda:N`.
    fn from_str(s: &str) -> Result<Device, Error> {
        let bad = || {
            Error::Data(format!(
                "Expected one of cpu, cuda device type at start of device string: {s}"
            ))
        };
        match s.split_once(':') {
            None if s == "cpu" => Ok(Device::Cpu),
            None if s == "cuda" => Ok(Device::Cuda(0)),
            Some(("cuda", n)) => n.parse().map(Device::Cuda).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}
