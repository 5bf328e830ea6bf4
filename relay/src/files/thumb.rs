//! Thumbnails of raster images, made only after the image's header has
//! been checked against the pixel limit, so a decompression bomb is refused
//! before anything is decoded.

use protocol::limits::THUMB_MAX_SIDE;

/// Why an image got no thumbnail.
#[derive(Debug, PartialEq, Eq)]
pub enum ThumbError {
    /// Declares more pixels than allowed (a decompression bomb, or simply
    /// too big).
    TooManyPixels { width: u32, height: u32 },
    /// Not a decodable image after all.
    Invalid(String),
}

/// A thumbnail of at most [`THUMB_MAX_SIDE`] per side (JPEG, or PNG when
/// the image has transparency) and the image's own size. The header is
/// read first: more than `max_pixels` is refused before decoding.
pub fn thumbnail(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<(Vec<u8>, &'static str, u32, u32), ThumbError> {
    use image::{ImageFormat, ImageReader, Limits};
    use std::io::Cursor;
    let invalid = |e: image::ImageError| ThumbError::Invalid(e.to_string());
    let reader = || -> Result<ImageReader<Cursor<&[u8]>>, ThumbError> {
        let mut r = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| ThumbError::Invalid(e.to_string()))?;
        let mut limits = Limits::default();
        limits.max_alloc = Some(max_pixels.saturating_mul(4).saturating_add(16 << 20));
        r.limits(limits);
        Ok(r)
    };
    let (width, height) = reader()?.into_dimensions().map_err(invalid)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ThumbError::TooManyPixels { width, height });
    }
    let img = reader()?.decode().map_err(invalid)?;
    let thumb = img.thumbnail(THUMB_MAX_SIDE, THUMB_MAX_SIDE);
    let mut out = Cursor::new(Vec::new());
    let mime = if thumb.color().has_alpha() {
        thumb
            .write_to(&mut out, ImageFormat::Png)
            .map_err(invalid)?;
        "image/png"
    } else {
        image::DynamicImage::ImageRgb8(thumb.to_rgb8())
            .write_to(&mut out, ImageFormat::Jpeg)
            .map_err(invalid)?;
        "image/jpeg"
    };
    Ok((out.into_inner(), mime, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::limits::MAX_IMAGE_PIXELS;

    #[test]
    fn thumbnails_refuse_bombs_from_the_header() {
        // A PNG header declaring 100000 × 100000 pixels (no data needed).
        let mut png = Vec::new();
        let mut enc = png::Encoder::new(&mut png, 100_000, 100_000);
        enc.set_color(png::ColorType::Grayscale);
        let mut writer = enc.write_header().expect("header");
        writer
            .write_chunk(png::chunk::IDAT, b"\x78\x9c\x03\x00\x00\x00\x00\x01")
            .expect("data");
        writer.finish().expect("end");
        assert_eq!(
            thumbnail(&png, MAX_IMAGE_PIXELS),
            Err(ThumbError::TooManyPixels {
                width: 100_000,
                height: 100_000
            })
        );
        // A real small image gets a thumbnail no bigger than the limit.
        let img = image::RgbImage::from_pixel(800, 400, image::Rgb([200, 10, 10]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, image::ImageFormat::Png)
            .expect("encode");
        let (t, mime, w, h) = thumbnail(bytes.get_ref(), MAX_IMAGE_PIXELS).expect("thumb");
        assert_eq!((mime, w, h), ("image/jpeg", 800, 400));
        let back = image::load_from_memory(&t).expect("decode thumb");
        assert_eq!(
            (back.width(), back.height()),
            (THUMB_MAX_SIDE, THUMB_MAX_SIDE / 2)
        );
    }
}
