//! POSIX `cksum`: the checksum the sh backend's script names MOUNT volumes with
//! (`rockerc_<cksum of build id>_<cksum of dest path>`). The BuildKit backend bakes the same names
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
/// with this id.
pub fn volume_name(build_id: &str, dest: &str) -> String {
    format!("rockerc_{}_{}", cksum(build_id.as_bytes()), cksum(dest.as_bytes()))
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
}
