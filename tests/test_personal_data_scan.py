"""The personal-data scan behind the publication gate, on hand-made files: it finds a respondent's
name, e-mail or phone number in text, in spreadsheets (ZIP archives) and in a PNG's metadata,
compressed or not, and not in ordinary words."""

import struct
import zipfile
import zlib

from iom_pipeline.personal_data import PNG_SIGNATURE, find_in_files

PERSONAL = {"Joanna Smith", "j.smith@example.org", "01632 960123"}


def png(*chunks: tuple[bytes, bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00")
    return PNG_SIGNATURE + b"".join(
        [chunk(b"IHDR", header), *(chunk(k, d) for k, d in chunks), chunk(b"IDAT", pixels), chunk(b"IEND", b"")]
    )


def test_values_in_text_spreadsheets_and_png_metadata_are_found(tmp_path):
    (tmp_path / "report.html").write_text("<p>Contact: Joanna  Smith.</p>", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "tables.xlsx", "w") as archive:
        archive.writestr("xl/sharedStrings.xml", "<si><t>j.smith@example.org</t></si>")
    (tmp_path / "plain.png").write_bytes(png((b"tEXt", b"Title\x00Called 01632 960123")))
    (tmp_path / "compressed.png").write_bytes(png((b"zTXt", b"Description\x00\x00" + zlib.compress(b"by Joanna Smith"))))
    (tmp_path / "international.png").write_bytes(
        png((b"iTXt", b"Author\x00\x01\x00en\x00Author\x00" + zlib.compress("j.smith@example.org".encode())))
    )

    assert sorted(find_in_files(tmp_path, PERSONAL)) == [
        ("compressed.png", "joanna smith"),
        ("international.png", "j.smith@example.org"),
        ("plain.png", "01632 960123"),
        ("report.html", "joanna smith"),
        ("tables.xlsx", "j.smith@example.org"),
    ]


def test_clean_files_and_image_data_raise_nothing(tmp_path):
    (tmp_path / "report.html").write_text("<p>Smith Street and Joanna Road.</p>", encoding="utf-8")
    (tmp_path / "figure.png").write_bytes(png((b"tEXt", b"Title\x00Police and probation")))
    assert find_in_files(tmp_path, PERSONAL) == []
