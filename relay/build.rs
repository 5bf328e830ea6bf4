//! Rebuilds the relay when anything under `www/` changes: the release binary
//! embeds `www/` (rust-embed), and `make wasm` rewrites the bundles there, so
//! a new bundle must reach the binary without touching any source file.

fn main() {
    println!("cargo:rerun-if-changed=../www");
}
