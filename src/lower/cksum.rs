//! POSIX `cksum` (what the script checks its Rockerfile with), and the names of MOUNT volumes
//! (`rockerc_<hash of build id>_<hash of dest path>`): the BuildKit backend bakes the same names
//! into its cache mount ids at compile time, so a volume and a cache of one MOUNT are named alike.

/// The CRC `cksum` prints for `data`: CRC-32 (polynomial 0x04C11DB7, most significant bit first)
/// over the bytes and then over their length (least significant byte first, as few bytes as the
/// length needs), complemented.
pub fn cksum(data: &[u8]) -> u32 {
    fn feed(crc: u32, byte: u8) -> u32 {
        let mut crc = crc ^ (u32::from(byte) << 24);
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 { (crc << 1) ^ 0x04C1_1DB7 } else { crc << 1 };
        }
        crc
    }
    let mut crc = data.iter().fold(0u32, |crc, &b| feed(crc, b));
    let mut len = data.len();
    while len > 0 {
        crc = feed(crc, (len & 0xff) as u8);
        len >>= 8;
    }
    !crc
}

/// The name of the volume (sh backend) and cache (BuildKit backend) of `MOUNT dest` in a build
/// with this id: 128 bits of the SHA-256 of each (the script's `rc_hash`). A build id is anyone's
/// choice, and a CRC of it can be matched at will: a pull request's build would get main's volumes.
pub fn volume_name(build_id: &str, dest: &str) -> String {
    format!("rockerc_{}_{}", hash128(build_id), hash128(dest))
}

/// The first 128 bits of the SHA-256 of `text`, in hex (`printf %s TEXT | sha256sum | cut -c 1-32`).
pub fn hash128(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_cksum_program() {
        // Values printed by `printf %s TEXT | cksum` (GNU coreutils and busybox agree).
        assert_eq!(cksum(b""), 4294967295);
        assert_eq!(cksum(b"a"), 1220704766);
        assert_eq!(cksum(b"123456789"), 930766865);
    }

    #[test]
    fn volume_names_are_128_bits_of_sha256_as_the_script_makes_them() {
        // `printf %s abc | sha256sum | cut -c 1-32`, and the same of `/root/.m2`.
        assert_eq!(hash128("abc"), "ba7816bf8f01cfea414140de5dae2223");
        let script = std::process::Command::new("sh").args(["-c", "printf %s /root/.m2 | sha256sum | cut -c 1-32"]).output().unwrap();
        let m2 = String::from_utf8(script.stdout).unwrap();
        assert_eq!(volume_name("abc", "/root/.m2"), format!("rockerc_ba7816bf8f01cfea414140de5dae2223_{}", m2.trim()));
    }
}
