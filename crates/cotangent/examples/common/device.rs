//! `--device cpu|cuda|cuda:N` for every example: the device becomes the default, so every
//! tensor the example makes (data, parameters, random draws) lives there and the example's
//! claims are checked there.

use cotangent::Device;

/// The `--device` argument (default `cpu`), made the default device; exits with a message
/// if it is malformed or the device cannot be used.
pub fn from_args() -> Device {
    let args: Vec<String> = std::env::args().collect();
    let device = match args.iter().position(|a| a == "--device") {
        Some(i) => match args.get(i + 1).map(|s| s.parse::<Device>()) {
            Some(Ok(d)) => d,
            _ => {
                eprintln!("--device takes cpu, cuda or cuda:N");
                std::process::exit(2);
            }
        },
        None => Device::Cpu,
    };
    if device != Device::Cpu
        && let Some(why) = cotangent::cuda::unavailable_reason()
    {
        eprintln!("--device {device}: {why}");
        std::process::exit(2);
    }
    cotangent::set_default_device(device);
    println!("device: {device}");
    device
}

/// The command-line arguments after the program name, without `--device X`.
#[allow(dead_code)]
pub fn other_args() -> Vec<String> {
    let mut out = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--device" {
            it.next();
        } else {
            out.push(a);
        }
    }
    out
}
