"""The personal-data scan behind the publication gate, on hand-made files: it finds a respondent's
name, e-mail or phone number in text, in spreadsheets (ZIP archives) and wherever a PNG can carry
text (its text chunks, compressed or not, other non-image chunks, bytes after its end), not in
ordinary words or image data, and refuses a PNG it cannot read."""

import struct
import zipfile
import zlib

from iom_pipeline.personal_data import PNG_SIGNATURE, UNREADABLE, find_in_files

PERSONAL = {"Joanna Smith", "José Núñez", "j.smith@example.org", "01632 960123"}


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(*chunks: bytes, pixels: bytes = b"\x00\x00", after: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE + chunk(b"IHDR", header) + b"".join(chunks)
        + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"") + after
    )


def test_values_in_text_spreadsheets_and_png_metadata_are_found(tmp_path):
    (tmp_path / "report.html").write_text("<p>Contact: Joanna  Smith.</p>", encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "tables.xlsx", "w") as archive:
        archive.writestr("xl/sharedStrings.xml", "<si><t>j.smith@example.org</t></si>")
    files = {
        "text.png": png(chunk(b"tEXt", b"Title\x00Called 01632 960123")),
        # tEXt and zTXt are Latin-1 (as Pillow writes a title matplotlib passes it)
        "latin1.png": png(chunk(b"tEXt", "Author\x00José Núñez".encode("latin-1"))),
        "compressed.png": png(chunk(b"zTXt", b"Description\x00\x00" + zlib.compress(b"by Joanna Smith"))),
        "international.png": png(chunk(b"iTXt", b"Author\x00\x01\x00en\x00Author\x00" + zlib.compress("José Núñez".encode()))),
        "plain_international.png": png(chunk(b"iTXt", b"Author\x00\x00\x00\x00\x00j.smith@example.org")),
        "private_chunk.png": png(chunk(b"prVt", b"Joanna Smith")),
        "appended.png": png(after=b"01632 960123"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    assert sorted(find_in_files(tmp_path, PERSONAL)) == [
        ("appended.png", "01632 960123"),
        ("compressed.png", "joanna smith"),
        ("international.png", "josé núñez"),
        ("latin1.png", "josé núñez"),
        ("plain_international.png", "j.smith@example.org"),
        ("private_chunk.png", "joanna smith"),
        ("report.html", "joanna smith"),
        ("tables.xlsx", "j.smith@example.org"),
        ("text.png", "01632 960123"),
    ]


def test_ordinary_words_and_image_data_raise_nothing(tmp_path):
    (tmp_path / "report.html").write_text("<p>Smith Street and Joanna Road.</p>", encoding="utf-8")
    (tmp_path / "figure.png").write_bytes(png(chunk(b"tEXt", b"Title\x00Police and probation")))
    # Bytes that spell a name inside the image data are pixels, not text anyone can read.
    (tmp_path / "pixels.png").write_bytes(
        PNG_SIGNATURE + chunk(b"IDAT", b"Joanna Smith") + chunk(b"IEND", b"")
    )
    assert find_in_files(tmp_path, PERSONAL) == []


def test_a_png_that_cannot_be_read_is_refused_not_passed(tmp_path):
    (tmp_path / "corrupt.png").write_bytes(png(chunk(b"zTXt", b"Description\x00\x00not deflate data")))
    (tmp_path / "truncated.png").write_bytes(png(chunk(b"tEXt", b"Title\x00Police"))[:-20])
    hits = dict(find_in_files(tmp_path, PERSONAL))
    assert sorted(hits) == ["corrupt.png", "truncated.png"]
    assert all(reason.startswith(UNREADABLE) for reason in hits.values())
