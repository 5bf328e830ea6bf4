//! `kefu-relay`: thin — everything is in the library (see `relay::cli`).

fn main() -> std::process::ExitCode {
    relay::cli::main()
}
