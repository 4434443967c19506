//! `cargo run -p uniffi-bindgen -- generate --library <lib> --language <lang> --out-dir <dir>`.
fn main() {
    uniffi::uniffi_bindgen_main()
}
