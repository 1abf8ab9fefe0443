//! Where an array's buffer lives: torch's `torch.device`, as a Rust enum.
//!
//! `Device::Cuda(i)` exists in every build so that code naming it compiles with or without
//! the `cuda` feature; without the feature, moving a tensor there is an [`Error::Device`]
//! that says how to rebuild.

use std::cell::Cell;
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

/// The device factories use when none is given: 0 for the CPU, `i + 1` for `Cuda(i)`,
/// `UNSET` until first read (then taken from `COTANGENT_DEFAULT_DEVICE`).
static DEFAULT_DEVICE: AtomicUsize = AtomicUsize::new(UNSET);
const UNSET: usize = usize::MAX;

thread_local! {
    /// A per-thread override of the default ([`with_default_device`]).
    static OVERRIDE: Cell<Option<Device>> = const { Cell::new(None) };
}

fn code(device: Device) -> usize {
    match device {
        Device::Cpu => 0,
        Device::Cuda(i) => i + 1,
    }
}

/// Make `device` the default for tensors created without one: `from_vec`, `from_slice`,
/// `zeros`, `ones`, `full`, `arange`, `eye`, `rand`, ... (torch:
/// `torch.set_default_device`). Numbers inside ops (`x * 2.0`) are not tensors and are
/// unaffected. Process-wide; the environment variable `COTANGENT_DEFAULT_DEVICE` (`cpu`,
/// `cuda`, `cuda:1`) sets the initial value, so a whole program or test suite can run on a
/// GPU unchanged.
///
/// ```
/// use cotangent::{Device, Tensor, default_device, set_default_device};
/// set_default_device(Device::Cpu);
/// assert_eq!(Tensor::zeros(&[2]).device(), default_device());
/// ```
pub fn set_default_device(device: Device) {
    DEFAULT_DEVICE.store(code(device), Ordering::Relaxed);
}

/// The device of [`set_default_device`] (the CPU unless changed), or this thread's
/// override inside [`with_default_device`].
#[inline]
pub fn default_device() -> Device {
    if let Some(d) = OVERRIDE.with(Cell::get) {
        return d;
    }
    let c = match DEFAULT_DEVICE.load(Ordering::Relaxed) {
        UNSET => {
            let from_env = std::env::var("COTANGENT_DEFAULT_DEVICE")
                .ok()
                .and_then(|s| s.parse::<Device>().ok())
                .unwrap_or(Device::Cpu);
            let _ = DEFAULT_DEVICE.compare_exchange(
                UNSET,
                code(from_env),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            DEFAULT_DEVICE.load(Ordering::Relaxed)
        }
        c => c,
    };
    match c {
        0 => Device::Cpu,
        i => Device::Cuda(i - 1),
    }
}

/// Run `f` with `device` as this thread's default device (restored afterwards, also on a
/// panic).
pub fn with_default_device<T>(device: Device, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Device>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(device))));
    f()
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
