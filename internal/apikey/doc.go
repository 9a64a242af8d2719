// Package apikey owns authd's API keys: their format (pk_/sk_ + live/test +
// 128+ random bits in base62 + a CRC32 checksum, so typos are refused
// without a look-up and secret scanners can match them), issuing and
// hashing. Secret keys are stored only as SHA-256 hashes.
package apikey
