"""Caltech raw files: the real peds30.seq, .vbb round trips, broken files."""
import os.path as osp
import struct

import cv2
import numpy as np
import pytest

from mmmimic.datasets.caltech.io import (
    CaltechFormatError,
    SeqReader,
    VbbAnnotation,
    VbbObject,
    read_seq_header,
    read_vbb,
    write_vbb,
)

from ..conftest import SHARED_FIXTURES

PEDS30 = osp.join(SHARED_FIXTURES, 'caltech', 'peds30.seq')
needs_peds30 = pytest.mark.skipif(
    not osp.isfile(PEDS30),
    reason=f'{PEDS30} is absent (real Caltech files live beside the repository '
    'on the development machines only)')


@needs_peds30
def test_peds30_header_and_frames():
    header = read_seq_header(PEDS30)
    assert (header.width, header.height, header.num_frames) == (640, 480, 30)
    assert header.image_format == 201 and header.fps == pytest.approx(30.303,
                                                                      abs=1e-3)
    reader = SeqReader(PEDS30)
    frames = list(reader)
    assert len(frames) == 30
    raw = open(PEDS30, 'rb').read()
    for i, jpeg in enumerate(frames):
        # the bytes in the file after the frame's size word, untouched
        offset = reader._offsets[i]
        size, = struct.unpack_from('<I', raw, offset)
        assert jpeg == raw[offset + 4:offset + size]
        assert jpeg[:2] == b'\xff\xd8' and jpeg[-2:] == b'\xff\xd9'
        assert reader.frame(i) == jpeg
    image = cv2.imdecode(np.frombuffer(frames[-1], np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (480, 640, 3)
    # the last frame's payload, timestamp (and padding) end the file
    assert reader._offsets[-1] + reader._sizes[-1] + 8 <= len(raw)


@needs_peds30
def test_truncated_seq_names_file_and_frame(tmp_path):
    raw = open(PEDS30, 'rb').read()
    reader = SeqReader(PEDS30)
    reader.frame(0)
    cut = reader._offsets[7] + 100            # inside frame 7
    broken = tmp_path / 'cut.seq'
    broken.write_bytes(raw[:cut])
    with pytest.raises(CaltechFormatError, match=r'cut\.seq: frame 7'):
        list(SeqReader(str(broken)))
    corrupt = bytearray(raw)
    corrupt[reader._offsets[3] + 4] = 0       # frame 3 no longer a JPEG
    bad = tmp_path / 'bad.seq'
    bad.write_bytes(bytes(corrupt))
    with pytest.raises(CaltechFormatError, match=r'bad\.seq: frame 3'):
        list(SeqReader(str(bad)))


@needs_peds30
def test_seq_header_checked_against_frames(tmp_path):
    """The header's frame count and image size against the frames, both
    ways, each mismatch named with the file, the frame and both values."""
    raw = open(PEDS30, 'rb').read()
    reader = SeqReader(PEDS30)
    reader.check()                      # the real file passes

    def variant(name, data):
        path = tmp_path / name
        path.write_bytes(bytes(data))
        return SeqReader(str(path))

    under = bytearray(raw)
    struct.pack_into('<I', under, 548 + 24, 29)     # one frame uncounted
    with pytest.raises(CaltechFormatError,
                       match=r'under\.seq: the header counts 29 frames but '
                       r'another frame follows the last one'):
        variant('under.seq', under).check()
    over = bytearray(raw)
    struct.pack_into('<I', over, 548 + 24, 31)
    with pytest.raises(CaltechFormatError,
                       match=r'over\.seq: frame 30: the header counts 31'):
        variant('over.seq', over).check()
    size = bytearray(raw)
    struct.pack_into('<2I', size, 548, 320, 240)
    with pytest.raises(CaltechFormatError,
                       match=r'size\.seq: frame 0 decodes to 640x480 but the '
                       r'header says 320x240'):
        variant('size.seq', size).check()
    # a size word 2 bytes short still finds the next frame's padding, but the
    # frame no longer ends with the JPEG end marker
    short = bytearray(raw)
    offset, length = reader._offsets[4], reader._sizes[4]
    struct.pack_into('<I', short, offset, length - 2)
    with pytest.raises(CaltechFormatError,
                       match=r'short\.seq: frame 4: .* do not end with the '
                       r'\.jpg end marker'):
        variant('short.seq', short).check()
    # garbage inside frame 6's JPEG data that the decoder refuses
    garbage = bytearray(raw)
    start = reader._offsets[6] + 4
    garbage[start + 2:start + 600] = b'\xff' * 598
    with pytest.raises(CaltechFormatError,
                       match=r'garbage\.seq: frame 6: the \d+ bytes of \.jpg '
                       r'data do not decode'):
        variant('garbage.seq', garbage).image(6)


def test_not_a_seq(tmp_path):
    path = tmp_path / 'x.seq'
    path.write_bytes(b'\x00' * 2000)
    with pytest.raises(CaltechFormatError, match='not a Norpix'):
        read_seq_header(str(path))
    path.write_bytes(b'\xed\xfe')
    with pytest.raises(CaltechFormatError, match='shorter than the 1024-byte'):
        read_seq_header(str(path))


def sample_annotation():
    labels = ['person', 'people', 'person?', 'person']
    frames = [
        [VbbObject(1, 'person', np.array([10., 20, 30, 80]),
                   np.array([10., 20, 30, 50]), True),
         VbbObject(2, 'people', np.array([200., 100, 60, 90]), np.zeros(4),
                   False)],
        [],
        [VbbObject(1, 'person', np.array([12., 21, 30, 80]), np.zeros(4),
                   False),
         VbbObject(3, 'person?', np.array([400., 50, 20, 40]), np.zeros(4),
                   False),
         VbbObject(4, 'person', np.array([500., 60, 25, 60]), np.zeros(4),
                   False, lock=True)],
    ]
    return VbbAnnotation(num_frames=3, labels=labels, frames=frames)


def test_vbb_round_trip(tmp_path):
    path = str(tmp_path / 'V000.vbb')
    original = sample_annotation()
    write_vbb(path, original)
    loaded = read_vbb(path)
    assert loaded.num_frames == 3 and loaded.labels == original.labels
    assert [len(f) for f in loaded.frames] == [2, 0, 3]
    for frame_a, frame_b in zip(original.frames, loaded.frames):
        for a, b in zip(frame_a, frame_b):
            assert (a.id, a.label, a.occl, a.lock) == (b.id, b.label, b.occl,
                                                       b.lock)
            assert np.array_equal(a.pos, b.pos)
            assert np.array_equal(a.posv, b.posv)


def test_vbb_written_like_the_toolbox_struct(tmp_path):
    """The struct layout Dollár's vbb.m writes: objLists a 1xN cell of struct
    arrays with id/pos/occl/lock/posv, objLbl a cell of strings."""
    import scipy.io as sio
    path = str(tmp_path / 'V000.vbb')
    write_vbb(path, sample_annotation())
    a = sio.loadmat(path)['A'][0, 0]
    assert {'nFrame', 'objLists', 'maxObj', 'objInit', 'objLbl', 'objStr',
            'objEnd', 'objHide', 'altered', 'log', 'logLen'} <= set(
                a.dtype.names)
    first = a['objLists'][0, 0]
    assert set(first.dtype.names) == {'id', 'pos', 'occl', 'lock', 'posv'}
    assert a['objStr'].tolist() == [[1, 1, 3, 3]]


def test_corrupt_vbb(tmp_path):
    path = tmp_path / 'V001.vbb'
    path.write_bytes(b'MATLAB 5.0 MAT-file, garbage' + b'\x00' * 200)
    with pytest.raises(CaltechFormatError, match='V001.vbb'):
        read_vbb(str(path))
    import scipy.io as sio
    sio.savemat(str(path), dict(B=1))
    with pytest.raises(CaltechFormatError, match='no struct A'):
        read_vbb(str(path))


@pytest.mark.parametrize('pos, posv, message', [
    ([400., 50, -20, 40], [0., 0, 0, 0], r'\[400.0, 50.0, -20.0, 40.0\]: a '
     'box needs finite coordinates and a positive width and height'),
    ([400., 50, 20, 0], [0., 0, 0, 0], 'positive width and height'),
    ([float('nan'), 50, 20, 40], [0., 0, 0, 0], 'finite coordinates'),
    ([400., 50, 20, 40], [float('inf'), 0, 0, 0], 'visible box .* NaN or inf'),
])
def test_damaged_boxes_are_refused_naming_file_frame_and_object(
        tmp_path, pos, posv, message):
    # the dataset would drop such a box, turning a pedestrian into background
    annotation = sample_annotation()
    annotation.frames[2][1] = VbbObject(3, 'person?', np.array(pos),
                                        np.array(posv), False)
    path = str(tmp_path / 'V007.vbb')
    write_vbb(path, annotation)
    with pytest.raises(CaltechFormatError,
                       match=rf"V007.vbb: frame 2: object 3 \('person\?'\) "
                       rf'has .*{message}'):
        read_vbb(path)


def test_a_frame_count_that_is_not_a_number_is_named(tmp_path):
    import scipy.io as sio
    path = str(tmp_path / 'V000.vbb')
    write_vbb(path, sample_annotation())
    mat = sio.loadmat(path)
    mat['A'][0, 0]['nFrame'] = np.array(['lots'])
    sio.savemat(path, dict(A=mat['A']))
    with pytest.raises(CaltechFormatError, match='nFrame is not a frame '
                       'count'):
        read_vbb(path)
