"""A non-ultrasound evaluation set, built only from images that installed packages ship.

`python -m training.input_check.non_ultrasound OUT_DIR` writes it as PNGs (to look at); the measurement
script (`training/input_check/measure.py`) builds it in memory with `build()`.

Categories (each image also as grey-scale conversions and crops where it is a picture):
- photo: scikit-image's photographs (astronaut, camera, coffee, chelsea, rocket, ...),
  matplotlib's grace_hopper.jpg, scikit-learn's china.jpg and flower.jpg, faces (skimage LFW);
- medical_other: retina, microaneurysms (fundus), the Shepp-Logan phantom (CT-like),
  matplotlib's s1045.ima (an MRI slice);
- microscopy: cells, IHC, Hubble deep field (astronomy, as dark speckle);
- texture: brick, grass, gravel;
- document: scikit-image's page and text, rendered text pages (Pillow), light and dark;
- screenshot: web pages rendered by headless Chromium (when /usr/bin/chromium is there),
  light and dark, and a matplotlib chart;
- synthetic: blank, noise (uniform, Gaussian, salt-and-pepper), gradients, chessboard, blobs.
"""
from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SKIMAGE_PHOTOS = ("astronaut.png", "camera.png", "coffee.png", "chelsea.png", "rocket.jpg", "horse.png",
                  "motorcycle_left.png", "coins.png", "moon.png", "clock_motion.png", "logo.png", "color.png")
SKIMAGE_MEDICAL = ("retina.jpg", "microaneurysms.png", "phantom.png")
SKIMAGE_MICROSCOPY = ("cell.png", "ihc.png", "hubble_deep_field.jpg")
SKIMAGE_TEXTURE = ("brick.png", "grass.png", "gravel.png")
SKIMAGE_DOCUMENT = ("page.png", "text.png")
LOREM = ("The quick brown fox jumps over the lazy dog. Results of your breast ultrasound examination "
         "are attached; please bring this letter to your appointment. Lorem ipsum dolor sit amet, "
         "consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.")


def _package_dir(name: str) -> Path:
    module = __import__(name)
    return Path(module.__file__).parent


def _open(path: Path) -> Image.Image:
    with Image.open(path) as image:
        image.load()
        return image.copy()


def _variants(name: str, image: Image.Image) -> list[tuple[str, Image.Image]]:
    """The image, its grey-scale conversion (if colour), a centre crop and a corner crop (grey)."""
    out = [(name, image)]
    gray = image.convert("L")
    if image.mode != "L":
        out.append((f"{name} grey", gray))
    w, h = gray.size
    if min(w, h) >= 128:
        out.append((f"{name} centre crop", gray.crop((w // 4, h // 4, w * 3 // 4, h * 3 // 4))))
        out.append((f"{name} corner crop", gray.crop((0, 0, w * 3 // 5, h * 3 // 5))))
    return out


def text_page(dark: bool, size=(1000, 700), font_size=22) -> Image.Image:
    """A page of text rendered with Pillow's default font (white on black when `dark`)."""
    background, ink = ((0, 0, 0), (255, 255, 255)) if dark else ((255, 255, 255), (20, 20, 20))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    words, line, y = LOREM.split() * 6, "", 20
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) > size[0] - 40:
            draw.text((20, y), line, fill=ink, font=font)
            line, y = word, y + int(font_size * 1.4)
            if y > size[1] - 40:
                break
        else:
            line = trial
    return image


def chart() -> Image.Image:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), dpi=100)
    axes[0].plot(np.cumsum(rng.normal(size=200)))
    axes[1].hist(rng.normal(size=1000), bins=30)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


WEB_PAGE = """<!doctype html><html><head><style>
body {{ font-family: sans-serif; margin: 40px; background: {bg}; color: {fg}; }}
nav a {{ margin-right: 20px; color: {link}; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid {fg}; padding: 6px 12px; }} .box {{ background: {box}; padding: 16px; margin: 16px 0; }}
</style></head><body><nav><a>Home</a><a>Results</a><a>Appointments</a><a>Help</a></nav>
<h1>Patient portal</h1><div class="box"><p>{text}</p></div>
<table><tr><th>Date</th><th>Examination</th><th>Status</th></tr>
<tr><td>2026-01-12</td><td>Breast ultrasound</td><td>Report available</td></tr>
<tr><td>2025-11-03</td><td>Mammogram</td><td>Reviewed</td></tr></table><p>{text}</p></body></html>"""


def chromium_screenshots() -> list[tuple[str, Image.Image]]:
    """Web pages (light and dark) rendered by headless Chromium; [] when it is not installed."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        return []
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, colours in (("web page light", dict(bg="#ffffff", fg="#222222", link="#1a5fb4", box="#eef3fb")),
                              ("web page dark", dict(bg="#121212", fg="#e8e8e8", link="#8ab4f8", box="#1e2a38"))):
            html, png = Path(tmp) / "page.html", Path(tmp) / "shot.png"
            html.write_text(WEB_PAGE.format(text=LOREM, **colours))
            subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--screenshot={png}", "--window-size=1200,800", html.as_uri()],
                           check=True, capture_output=True, timeout=60)
            out.append((name, _open(png).convert("RGB")))
    return out


def synthetic(rng: np.random.Generator) -> list[tuple[str, Image.Image]]:
    h, w = 480, 640
    yy, xx = np.mgrid[0:h, 0:w]
    radial = np.hypot(yy - h / 2, xx - w / 2)
    arrays = {
        "blank black": np.zeros((h, w)), "blank white": np.full((h, w), 255.0), "blank grey": np.full((h, w), 128.0),
        "noise uniform": rng.uniform(0, 255, (h, w)),
        "noise gaussian": np.clip(rng.normal(128, 40, (h, w)), 0, 255),
        "noise dark gaussian": np.clip(rng.normal(40, 30, (h, w)), 0, 255),
        "noise salt and pepper": (rng.random((h, w)) < 0.1) * 255.0,
        "gradient horizontal": xx / (w - 1) * 255, "gradient vertical": yy / (h - 1) * 255,
        "gradient radial": 255 * (1 - radial / radial.max()),
    }
    out = [(name, Image.fromarray(a.astype(np.uint8), "L")) for name, a in arrays.items()]
    out.append(("noise colour", Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")))
    from skimage import data

    out.append(("chessboard", Image.fromarray(data.checkerboard())))
    out.append(("binary blobs", Image.fromarray((data.binary_blobs(512, rng=0) * 255).astype(np.uint8))))
    return out


def build() -> list[tuple[str, str, Image.Image]]:
    """[(category, name, image)] for the whole set; deterministic."""
    skimage_data = _package_dir("skimage") / "data"
    mpl_data = _package_dir("matplotlib") / "mpl-data" / "sample_data"
    sklearn_images = _package_dir("sklearn") / "datasets" / "images"
    rng = np.random.default_rng(14)
    items: list[tuple[str, str, Image.Image]] = []

    def add(category, name, image, variants=True):
        for variant_name, variant in (_variants(name, image) if variants else [(name, image)]):
            items.append((category, variant_name, variant))

    for name in SKIMAGE_PHOTOS:
        add("photo", f"skimage {name}", _open(skimage_data / name))
    add("photo", "matplotlib grace_hopper.jpg", _open(mpl_data / "grace_hopper.jpg"))
    for name in ("china.jpg", "flower.jpg"):
        add("photo", f"sklearn {name}", _open(sklearn_images / name))
    faces = np.load(skimage_data / "lfw_subset.npy")
    for index in range(0, 200, 40):  # 25 px faces, enlarged as a tiny upload would be
        face = Image.fromarray((faces[index] * 255).astype(np.uint8)).resize((200, 200), Image.BICUBIC)
        add("photo", f"skimage lfw face {index}", face, variants=False)
    for name in SKIMAGE_MEDICAL:
        add("medical_other", f"skimage {name}", _open(skimage_data / name))
    mri = np.frombuffer(gzip.open(mpl_data / "s1045.ima.gz").read(), np.uint16).reshape(256, 256)
    add("medical_other", "matplotlib s1045.ima (MRI)", Image.fromarray((mri / mri.max() * 255).astype(np.uint8)))
    for name in SKIMAGE_MICROSCOPY:
        add("microscopy", f"skimage {name}", _open(skimage_data / name))
    for name in SKIMAGE_TEXTURE:
        add("texture", f"skimage {name}", _open(skimage_data / name))
    for name in SKIMAGE_DOCUMENT:
        add("document", f"skimage {name}", _open(skimage_data / name))
    for dark in (False, True):
        add("document", f"text page {'dark' if dark else 'light'}", text_page(dark))
    add("screenshot", "matplotlib chart", chart())
    for name, image in chromium_screenshots():
        add("screenshot", name, image)
    for name, image in synthetic(rng):
        add("synthetic", name, image, variants=False)
    return items


def main(argv=None) -> int:
    out = Path((argv or sys.argv[1:] or ["runs/non_ultrasound"])[0])
    out.mkdir(parents=True, exist_ok=True)
    for index, (category, name, image) in enumerate(build()):
        image.save(out / f"{index:03d} {category} - {name.replace('/', '_')}.png")
    print(f"{index + 1} images in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
