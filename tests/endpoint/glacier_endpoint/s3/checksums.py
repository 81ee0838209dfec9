"""S3's flexible checksums: CRC32, CRC32C, CRC64NVME, SHA1, SHA256 (and the newer SHA512, MD5).

Standard library only. CRC32 uses zlib; CRC32C and CRC64NVME are table-driven pure Python (a few MB/s: fine
for tests, and only computed when a client asks for them). Multipart objects get S3's two kinds of checksum:
COMPOSITE, the checksum of the concatenated binary part checksums shown as ``<base64>-<parts>``, and
FULL_OBJECT (CRC algorithms only), the CRC of the whole object, combined from the part CRCs without
reading the data again.
"""

import base64
import binascii
import hashlib
import zlib

# Algorithm names as they appear in headers (x-amz-checksum-<lower>) and XML (Checksum<UPPER>).
CRC_ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME")
HASH_ALGORITHMS = ("SHA1", "SHA256", "SHA512", "MD5")
ALGORITHMS = CRC_ALGORITHMS + HASH_ALGORITHMS
# In the service model, answered with 501 NotImplemented: the standard library has no xxHash.
UNSUPPORTED_ALGORITHMS = ("XXHASH64", "XXHASH3", "XXHASH128")
DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32, "SHA512": 64, "MD5": 16}


def _table(poly, width):
    table = []
    for byte in range(256):
        crc = byte
        for _bit in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


class ReflectedCrc:
    """A reflected CRC with all-ones initial value and final xor (CRC32, CRC32C and CRC64NVME all are)."""

    def __init__(self, width, poly):
        self.width = width
        self.poly = poly
        self.mask = (1 << width) - 1
        self.table = _table(poly, width)
        # x^(2^k) mod P, for combining CRCs in O(log n) (zlib's crc32_combine method, any width).
        self._x2n = [1 << (width - 2)]
        for _k in range(1, 64):
            self._x2n.append(self._multiply(self._x2n[-1], self._x2n[-1]))

    def update(self, crc, data):
        """Continue crc (a finished CRC value, 0 for no data) over data."""
        table = self.table
        crc ^= self.mask
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        return crc ^ self.mask

    def _multiply(self, a, b):
        """a * b modulo P, both in the reflected representation."""
        top = 1 << (self.width - 1)
        product = 0
        while a:
            if a & top:
                product ^= b
            a = (a << 1) & self.mask
            b = (b >> 1) ^ self.poly if b & 1 else b >> 1
        return product

    def combine(self, crc1, crc2, length2):
        """CRC of A||B from crc(A), crc(B) and len(B)."""
        factor = 1 << (self.width - 1)  # x^0
        exponent, k = length2, 3  # 8 bits a byte: x^(8 * length2)
        while exponent:
            if exponent & 1:
                factor = self._multiply(self._x2n[k % 64], factor)
            exponent >>= 1
            k += 1
        return self._multiply(factor, crc1) ^ crc2


CRC32C = ReflectedCrc(32, 0x82F63B78)
CRC64NVME = ReflectedCrc(64, 0x9A6C9329AC4BC9B5)
CRC32 = ReflectedCrc(32, 0xEDB88320)  # for combining; zlib computes the data


class Hasher:
    """One algorithm's running checksum; digest() gives the raw bytes S3 base64-encodes."""

    def __init__(self, algorithm):
        self.algorithm = algorithm
        self._crc = 0
        self._hash = hashlib.new(algorithm.lower()) if algorithm in HASH_ALGORITHMS else None

    def update(self, data):
        if self._hash is not None:
            self._hash.update(data)
        elif self.algorithm == "CRC32":
            self._crc = zlib.crc32(data, self._crc)
        elif self.algorithm == "CRC32C":
            self._crc = CRC32C.update(self._crc, data)
        else:
            self._crc = CRC64NVME.update(self._crc, data)

    def digest(self):
        if self._hash is not None:
            return self._hash.digest()
        return self._crc.to_bytes(DIGEST_SIZES[self.algorithm], "big")


def b64(raw):
    return base64.b64encode(raw).decode("ascii")


def decode(algorithm, value):
    """The raw digest in a header value, or None when it is not valid base64 of the right length."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == DIGEST_SIZES[algorithm] else None


def digest_of(algorithm, data):
    hasher = Hasher(algorithm)
    hasher.update(data)
    return hasher.digest()


def composite(algorithm, part_digests):
    """S3's COMPOSITE checksum of a multipart object: '<base64 of ALG(part digests)>-<part count>'."""
    return "%s-%d" % (b64(digest_of(algorithm, b"".join(part_digests))), len(part_digests))


def full_object(algorithm, parts):
    """FULL_OBJECT CRC of a multipart object from [(part digest, part size)], combined, not recomputed."""
    engine = {"CRC32": CRC32, "CRC32C": CRC32C, "CRC64NVME": CRC64NVME}[algorithm]
    crc = 0
    for raw, size in parts:
        crc = engine.combine(crc, int.from_bytes(raw, "big"), size)
    return b64(crc.to_bytes(DIGEST_SIZES[algorithm], "big"))
