"""Readers for the Caltech Pedestrian raw files: Norpix ``.seq`` and ``.vbb``.

``.seq``: a 1024-byte header (magic ``0xFEED``, version, header size, then at
byte 548 width, height, bit depth, real bit depth, image size in bytes, image
format, number of frames, an unused word, true image size, and at 584 the fps
as a double), followed by the frames. For compressed formats each frame is a
``uint32`` byte count that includes itself, the image bytes, an 8-byte
timestamp and, in some files, zero padding; the padding is found from the file
rather than assumed. Frames are returned as the original image bytes.

The chain of size words is the file's only index, and it is checked against
the header both ways: every frame the header counts must be there, start with
the image signature and end with the image's end marker, and no further frame
may follow the last one (a header that undercounts). :meth:`SeqReader.image`
decodes a frame and checks its size against the header's width and height.

``.vbb``: a MATLAB file holding the struct ``A`` of Dollár's video bounding box
toolbox: ``nFrame``, ``objLists`` (per frame, a struct array with ``id``,
``pos`` ``[l t w h]``, ``posv`` (visible part), ``occl``, ``lock``), ``objLbl``
(label per object id), ``objStr``/``objEnd`` (first/last frame, 1-based), ...
"""
import os.path as osp
import struct
from dataclasses import dataclass, field
from typing import Iterator, List, Optional

import numpy as np

from mmmimic.utils.atomic import atomic_path

SEQ_MAGIC = 0xFEED
SEQ_HEADER_SIZE = 1024
TIMESTAMP_BYTES = 8
MAX_PADDING = 64
# Norpix image formats whose frames are compressed images with a size word
JPEG_FORMATS = (102, 201)
PNG_FORMATS = (1, 2)
JPEG_SOI = b'\xff\xd8'
JPEG_EOI = b'\xff\xd9'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
PNG_END = b'IEND\xaeB`\x82'     # the IEND chunk's type and CRC


class CaltechFormatError(ValueError):
    """A ``.seq`` or ``.vbb`` file is truncated, corrupt or of an unknown kind."""


@dataclass
class SeqHeader:
    width: int
    height: int
    bit_depth: int
    image_format: int
    num_frames: int
    fps: float
    true_image_size: int
    version: int


def read_seq_header(path: str) -> SeqHeader:
    """Parse the 1024-byte header of a ``.seq`` file."""
    with open(path, 'rb') as f:
        header = f.read(SEQ_HEADER_SIZE)
    if len(header) < SEQ_HEADER_SIZE:
        raise CaltechFormatError(
            f'{path}: {len(header)} bytes, shorter than the 1024-byte .seq '
            'header (truncated file?)')
    magic, = struct.unpack_from('<I', header, 0)
    if magic != SEQ_MAGIC:
        raise CaltechFormatError(
            f'{path}: magic {magic:#x} is not 0xfeed; not a Norpix .seq file')
    version, header_size = struct.unpack_from('<iI', header, 28)
    if header_size != SEQ_HEADER_SIZE:
        raise CaltechFormatError(
            f'{path}: header size {header_size}, expected 1024')
    width, height, bit_depth, _, _, image_format, num_frames, _, true_size = \
        struct.unpack_from('<9I', header, 548)
    fps, = struct.unpack_from('<d', header, 584)
    return SeqHeader(width=width, height=height, bit_depth=bit_depth,
                     image_format=image_format, num_frames=num_frames, fps=fps,
                     true_image_size=true_size, version=version)


class SeqReader:
    """Random and sequential access to the frames of a ``.seq`` file.

    Frame offsets are found by walking the size words once (lazily).

    Args:
        path (str): the ``.seq`` file.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.header = read_seq_header(path)
        fmt = self.header.image_format
        if fmt in JPEG_FORMATS:
            self.signature, self.ext = JPEG_SOI, '.jpg'
        elif fmt in PNG_FORMATS:
            self.signature, self.ext = PNG_SIGNATURE, '.png'
        else:
            raise CaltechFormatError(
                f'{path}: image format {fmt} (uncompressed) is not supported; '
                f'only JPEG ({JPEG_FORMATS}) and PNG ({PNG_FORMATS}) .seq files')
        self._offsets: Optional[List[int]] = None
        self._sizes: Optional[List[int]] = None

    def __len__(self) -> int:
        return self.header.num_frames

    def _index(self) -> None:
        """Walk the file: offset and size of every frame, checked (see the
        module docstring)."""
        offsets, sizes = [], []
        file_size = osp.getsize(self.path)
        count = self.header.num_frames
        end = PNG_END if self.ext == '.png' else JPEG_EOI
        with open(self.path, 'rb') as f:
            pos = SEQ_HEADER_SIZE
            for i in range(count):
                if i > 0:
                    pos = self._find_next(f, pos, file_size, i)
                f.seek(pos)
                word = f.read(4)
                if len(word) < 4:
                    raise CaltechFormatError(
                        f'{self.path}: frame {i}: the header counts {count} '
                        f'frames but the file ends at byte {file_size} '
                        '(truncated)')
                size, = struct.unpack('<I', word)
                if size < 4 + len(self.signature) or pos + size > file_size:
                    raise CaltechFormatError(
                        f'{self.path}: frame {i}: size word {size} at byte '
                        f'{pos} runs past the end of the file ({file_size} '
                        'bytes; truncated or corrupt)')
                if f.read(len(self.signature)) != self.signature:
                    raise CaltechFormatError(
                        f'{self.path}: frame {i} at byte {pos} does not start '
                        f'with a {self.ext} image (corrupt)')
                f.seek(pos + size - len(end))
                if f.read(len(end)) != end:
                    raise CaltechFormatError(
                        f'{self.path}: frame {i}: the {size - 4} image bytes '
                        f'at byte {pos + 4} do not end with the {self.ext} end '
                        'marker (size word or image data corrupt)')
                offsets.append(pos)
                sizes.append(size)
                pos += size + TIMESTAMP_BYTES
            if count and self._next_frame(f, pos, file_size) is not None:
                raise CaltechFormatError(
                    f'{self.path}: the header counts {count} frames but '
                    f'another frame follows the last one at byte {pos} '
                    '(header frame count too small)')
        self._offsets, self._sizes = offsets, sizes

    def _next_frame(self, f, pos: int, file_size: int) -> Optional[int]:
        """First ``pos + pad`` (pad a multiple of 4: the zero padding after a
        frame's timestamp) where a size word is followed by the image
        signature, or None."""
        for pad in range(0, MAX_PADDING + 1, 4):
            start = pos + pad
            f.seek(start)
            chunk = f.read(4 + len(self.signature))
            if len(chunk) < 4 + len(self.signature):
                return None
            size, = struct.unpack('<I', chunk[:4])
            if chunk[4:] == self.signature and start + size <= file_size:
                return start
        return None

    def _find_next(self, f, pos: int, file_size: int, index: int) -> int:
        """Start of frame ``index``, the first after ``pos``."""
        start = self._next_frame(f, pos, file_size)
        if start is None:
            raise CaltechFormatError(
                f'{self.path}: frame {index}: the header counts '
                f'{self.header.num_frames} frames but none is found after '
                f'byte {pos} (truncated or corrupt file)')
        return start

    def frame(self, index: int) -> bytes:
        """The original image bytes of frame ``index`` (0-based)."""
        if self._offsets is None:
            self._index()
        if not 0 <= index < len(self):
            raise IndexError(f'{self.path}: frame {index} out of range '
                             f'(0..{len(self) - 1})')
        with open(self.path, 'rb') as f:
            f.seek(self._offsets[index] + 4)
            return f.read(self._sizes[index] - 4)

    def check(self) -> None:
        """Check the whole file before any frame is used: the chain of size
        words against the header's frame count (both ways), every frame's
        markers, and the first frame's decoded size against the header."""
        self._index()
        if len(self):
            self.image(0)

    def image(self, index: int, data: Optional[bytes] = None) -> np.ndarray:
        """Frame ``index`` decoded, (H, W, 3) uint8 BGR, checked against the
        header's width and height. ``data``: its bytes if already read."""
        import cv2
        data = self.frame(index) if data is None else data
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise CaltechFormatError(
                f'{self.path}: frame {index}: the {len(data)} bytes of '
                f'{self.ext} data do not decode (corrupt image)')
        height, width = img.shape[:2]
        if (width, height) != (self.header.width, self.header.height):
            raise CaltechFormatError(
                f'{self.path}: frame {index} decodes to {width}x{height} but '
                f'the header says {self.header.width}x{self.header.height} '
                '(header or image corrupt)')
        return img

    def __iter__(self) -> Iterator[bytes]:
        if self._offsets is None:
            self._index()
        with open(self.path, 'rb') as f:
            for offset, size in zip(self._offsets, self._sizes):
                f.seek(offset + 4)
                yield f.read(size - 4)


def write_seq(path: str, frames: List[bytes], width: int, height: int,
              fps: float = 30.0, image_format: int = 201,
              padding: int = 8) -> None:
    """Write JPEG (or PNG) frames as a Norpix ``.seq`` (version 3 header).

    Each frame: a ``uint32`` size that counts itself, the image bytes, an
    8-byte timestamp (seconds, milliseconds, microseconds at ``fps``) and
    ``padding`` zero bytes, as in the benchmark's files. Written to a
    temporary file and renamed.
    """
    header = bytearray(SEQ_HEADER_SIZE)
    struct.pack_into('<I', header, 0, SEQ_MAGIC)
    header[4:4 + 24] = 'Norpix seq'.encode('utf-16-le').ljust(24, b'\0')
    struct.pack_into('<iI', header, 28, 3, SEQ_HEADER_SIZE)
    header[36:36 + 28] = 'mmmimic'.encode('utf-16-le').ljust(28, b'\0')
    image_size = width * height * 3
    struct.pack_into('<9I', header, 548, width, height, 24, 8, image_size,
                     image_format, len(frames), 0, image_size + 512)
    struct.pack_into('<d', header, 584, fps)
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        f.write(bytes(header))
        for i, data in enumerate(frames):
            t = i / fps
            seconds = int(t)
            millis = int((t - seconds) * 1000)
            micros = int(round((t - seconds) * 1e6)) % 1000
            f.write(struct.pack('<I', len(data) + 4))
            f.write(data)
            f.write(struct.pack('<IHH', seconds, millis, micros))
            f.write(b'\0' * padding)


@dataclass
class VbbObject:
    """One annotated object in one frame (pixels, 0-based frame)."""
    id: int
    label: str
    pos: np.ndarray          # [l, t, w, h]
    posv: np.ndarray         # visible part [l, t, w, h]; zeros if none
    occl: bool
    lock: bool = False


@dataclass
class VbbAnnotation:
    num_frames: int
    labels: List[str]
    frames: List[List[VbbObject]] = field(default_factory=list)


def _cell_list(value) -> list:
    """A MATLAB cell / struct array loaded by scipy as a flat Python list."""
    if isinstance(value, np.ndarray):
        return list(value.flatten())
    return [value]


def read_vbb(path: str) -> VbbAnnotation:
    """Read a ``.vbb`` annotation file (struct ``A``)."""
    import scipy.io as sio
    try:
        mat = sio.loadmat(path, struct_as_record=False, squeeze_me=False)
    except Exception as exc:  # scipy raises several types on broken files
        raise CaltechFormatError(
            f'{path}: not a readable MATLAB .vbb file ({exc})') from exc
    if 'A' not in mat:
        raise CaltechFormatError(f'{path}: no struct A (not a .vbb file)')
    a = mat['A'].flatten()[0]
    try:
        try:
            num_frames = int(np.asarray(a.nFrame).flatten()[0])
        except (ValueError, TypeError, IndexError) as exc:
            raise CaltechFormatError(
                f'{path}: nFrame is not a frame count ({exc})') from exc
        labels = [str(np.asarray(x).flatten()[0]) if np.asarray(x).size else ''
                  for x in _cell_list(a.objLbl)]
        obj_lists = _cell_list(a.objLists)
    except AttributeError as exc:
        raise CaltechFormatError(f'{path}: struct A lacks {exc}') from exc
    if len(obj_lists) != num_frames:
        raise CaltechFormatError(
            f'{path}: nFrame is {num_frames} but objLists has '
            f'{len(obj_lists)} entries (truncated or corrupt)')
    frames = []
    for frame_index, objs in enumerate(obj_lists):
        objects = []
        for obj in _cell_list(objs) if np.asarray(objs).size else []:
            try:
                obj_id = int(np.asarray(obj.id).flatten()[0])
                pos = np.asarray(obj.pos, dtype=np.float64).flatten()
                posv = np.asarray(obj.posv, dtype=np.float64).flatten()
                occl = bool(np.asarray(obj.occl).flatten()[0])
                lock = bool(np.asarray(obj.lock).flatten()[0]) \
                    if hasattr(obj, 'lock') and np.asarray(obj.lock).size \
                    else False
            except (AttributeError, IndexError) as exc:
                raise CaltechFormatError(
                    f'{path}: frame {frame_index}: malformed object ({exc})'
                ) from exc
            if pos.size != 4 or not 1 <= obj_id <= len(labels):
                raise CaltechFormatError(
                    f'{path}: frame {frame_index}: object id {obj_id} / pos '
                    f'{pos.tolist()} is invalid')
            label = labels[obj_id - 1]
            if not np.isfinite(pos).all() or pos[2] <= 0 or pos[3] <= 0:
                raise CaltechFormatError(
                    f'{path}: frame {frame_index}: object {obj_id} '
                    f'({label!r}) has box [l t w h] {pos.tolist()}: a box '
                    'needs finite coordinates and a positive width and '
                    'height (the annotation is damaged)')
            if posv.size != 4:
                posv = np.zeros(4)
            if not np.isfinite(posv).all():
                raise CaltechFormatError(
                    f'{path}: frame {frame_index}: object {obj_id} '
                    f'({label!r}) has visible box {posv.tolist()} with NaN or '
                    'inf (the annotation is damaged)')
            objects.append(VbbObject(id=obj_id, label=label,
                                     pos=pos, posv=posv, occl=occl, lock=lock))
        frames.append(objects)
    return VbbAnnotation(num_frames=num_frames, labels=labels, frames=frames)


def write_vbb(path: str, annotation: VbbAnnotation) -> None:
    """Write ``annotation`` as a ``.vbb`` (struct ``A``) like Dollár's toolbox.

    Objects carry 1-based ids into ``annotation.labels``. Written to a
    temporary file and renamed.
    """
    import scipy.io as sio
    num_objects = len(annotation.labels)
    obj_str = np.full(num_objects, -1.0)
    obj_end = np.full(num_objects, -1.0)
    obj_dtype = [('id', 'O'), ('pos', 'O'), ('occl', 'O'), ('lock', 'O'),
                 ('posv', 'O')]
    obj_lists = np.empty((1, annotation.num_frames), dtype=object)
    for i, objects in enumerate(annotation.frames):
        arr = np.zeros((1, len(objects)), dtype=obj_dtype)
        for j, obj in enumerate(objects):
            arr[0, j] = (float(obj.id), np.asarray(obj.pos, float).reshape(1, 4),
                         float(obj.occl), float(obj.lock),
                         np.asarray(obj.posv, float).reshape(1, 4))
            k = obj.id - 1
            obj_str[k] = i + 1 if obj_str[k] < 0 else obj_str[k]
            obj_end[k] = i + 1
        obj_lists[0, i] = arr
    labels = np.empty((1, num_objects), dtype=object)
    for k, label in enumerate(annotation.labels):
        labels[0, k] = label
    struct_a = dict(
        nFrame=float(annotation.num_frames), objLists=obj_lists,
        maxObj=float(num_objects), objInit=np.ones((1, num_objects)),
        objLbl=labels, objStr=obj_str.reshape(1, -1),
        objEnd=obj_end.reshape(1, -1), objHide=np.zeros((1, num_objects)),
        altered=0.0, log=0.0, logLen=0.0)
    with atomic_path(path) as tmp:
        sio.savemat(tmp, dict(A=struct_a), format='5', do_compression=True,
                    appendmat=False)
