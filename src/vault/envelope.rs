//! The vault text format (1.1 and 1.2, cipher AES256) and its decryption.
//!
//! Layout: a header line `$ANSIBLE_VAULT;<version>;AES256[;<label>]`, then the body as hex
//! (wrapped at 80 columns). The body decodes to three lines: hex salt, hex HMAC, hex
//! ciphertext. PBKDF2-HMAC-SHA256 (10000 rounds) over the password and salt gives 80 bytes:
//! the AES-256 key, the HMAC-SHA256 key and the initial 128-bit big-endian CTR counter. The
//! HMAC covers the ciphertext; the plaintext is PKCS#7-padded to 16 bytes.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{KeyInit, Mac};

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha256 = hmac::Hmac<sha2_vault::Sha256>;

pub const HEADER: &str = "$ANSIBLE_VAULT";
const ROUNDS: u32 = 10_000;

/// Why a vault text could not be opened with one secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The text is not in the vault format (wording as Ansible's).
    Format(String),
    /// The cipher named in the header is not AES256.
    Cipher(String),
    /// The secret does not match (HMAC mismatch or bad padding).
    WrongSecret,
}

/// The parsed envelope: header fields and the still-hex body.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub cipher: String,
    /// The label of a 1.2 header (`--vault-id label@...` that made it).
    pub label: Option<String>,
    body: Vec<u8>,
}

/// The decoded body: key derivation salt, expected HMAC, ciphertext.
struct Parts {
    salt: Vec<u8>,
    mac: Vec<u8>,
    data: Vec<u8>,
}

/// True when the text starts with the vault header.
pub fn is_encrypted(text: &[u8]) -> bool {
    text.starts_with(HEADER.as_bytes())
}

impl Envelope {
    pub fn parse(text: &str) -> Result<Envelope, Failure> {
        let text = text.trim_start();
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().trim();
        let fields: Vec<&str> = header.split(';').map(str::trim).collect();
        if fields[0] != HEADER || fields.len() < 3 {
            return Err(Failure::Format("Input is not vault encrypted data.".into()));
        }
        let body: String = lines.map(str::trim).collect();
        Ok(Envelope {
            cipher: fields[2].to_string(),
            label: fields.get(3).map(|s| s.to_string()),
            body: body.into_bytes(),
        })
    }

    /// Decrypt with one password.
    pub fn open(&self, password: &[u8]) -> Result<Vec<u8>, Failure> {
        if self.cipher != "AES256" {
            return Err(Failure::Cipher(format!(
                "Cipher '{}' could not be found.",
                self.cipher
            )));
        }
        let Parts {
            salt,
            mac,
            mut data,
        } = self.parts()?;
        let mut derived = [0u8; 80];
        pbkdf2::pbkdf2_hmac::<sha2_vault::Sha256>(password, &salt, ROUNDS, &mut derived);
        let (key, rest) = derived.split_at(32);
        let (mac_key, iv) = rest.split_at(32);
        let mut check =
            <HmacSha256 as KeyInit>::new_from_slice(mac_key).map_err(|_| Failure::WrongSecret)?;
        check.update(&data);
        check.verify_slice(&mac).map_err(|_| Failure::WrongSecret)?;
        let mut cipher = Aes256Ctr::new_from_slices(key, iv).map_err(|_| Failure::WrongSecret)?;
        cipher.apply_keystream(&mut data);
        unpad(data).ok_or(Failure::WrongSecret)
    }

    /// Salt, expected HMAC and ciphertext, each decoded from hex.
    fn parts(&self) -> Result<Parts, Failure> {
        let unhex = |b: &[u8]| {
            hex::decode(b).map_err(|_| Failure::Format("Vault format unhexlify error.".into()))
        };
        let inner = unhex(&self.body)?;
        let mut it = inner.splitn(3, |&c| c == b'\n');
        let (Some(salt), Some(mac), Some(data)) = (it.next(), it.next(), it.next()) else {
            return Err(Failure::Format("Vault vaulttext format error.".into()));
        };
        Ok(Parts {
            salt: unhex(salt)?,
            mac: unhex(mac)?,
            data: unhex(data)?,
        })
    }
}

/// Remove PKCS#7 padding (block size 16); `None` when the padding is malformed.
fn unpad(mut data: Vec<u8>) -> Option<Vec<u8>> {
    let n = *data.last()? as usize;
    if n == 0 || n > 16 || n > data.len() {
        return None;
    }
    if !data[data.len() - n..].iter().all(|&b| b as usize == n) {
        return None;
    }
    data.truncate(data.len() - n);
    Some(data)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // Made with `ansible-vault encrypt_string --vault-password-file <(echo secret1) hunter2`.
    const V11: &str = "$ANSIBLE_VAULT;1.1;AES256
62356139616532346633323533663735643235316436386239353230653763616139323530656532
6662653536616337313563613564653333326131613438370a363662386432636262373462393534
37646335373930363663306664613832313433653330323735666532366238353461663431363034
3437333831383533660a313531623862336566343431653038663263633362656238323139616366
6235
";
    // `ansible-vault encrypt_string --vault-id lbl@<(echo secret2) two`.
    pub(crate) const V12: &str = "$ANSIBLE_VAULT;1.2;AES256;lbl
61353231346336376438643131373039323030376439643938653266373033643566663137626131
3830616466666164343633333637623665323332353964350a303061656366633861333433633331
31353335326231633366636238326632373034363236323839613136313138303964363539616166
6235323431333861320a636162343533383766636361626566643362646539303838333862656261
6232
";

    #[test]
    fn opens_a_1_1_vault_made_by_ansible_vault() {
        let e = Envelope::parse(V11).unwrap();
        assert_eq!(e.label, None);
        assert_eq!(e.open(b"secret1").unwrap(), b"hunter2");
    }

    #[test]
    fn opens_a_1_2_vault_and_reads_its_label() {
        let e = Envelope::parse(V12).unwrap();
        assert_eq!(e.label.as_deref(), Some("lbl"));
        assert_eq!(e.open(b"secret2").unwrap(), b"two");
    }

    #[test]
    fn a_wrong_password_fails_the_hmac() {
        let e = Envelope::parse(V11).unwrap();
        assert_eq!(e.open(b"secret2"), Err(Failure::WrongSecret));
    }

    #[test]
    fn tampered_ciphertext_is_refused() {
        let tampered = V11.replacen("6235\n", "6236\n", 1);
        let e = Envelope::parse(&tampered).unwrap();
        assert!(e.open(b"secret1").is_err());
    }

    #[test]
    fn malformed_input_is_a_format_error() {
        assert!(matches!(Envelope::parse("hello"), Err(Failure::Format(_))));
        let e = Envelope::parse("$ANSIBLE_VAULT;1.1;AES256\nzz\n").unwrap();
        assert!(matches!(e.open(b"x"), Err(Failure::Format(_))));
        let e = Envelope::parse("$ANSIBLE_VAULT;1.1;DES\n00\n").unwrap();
        assert!(matches!(e.open(b"x"), Err(Failure::Cipher(_))));
    }
}
