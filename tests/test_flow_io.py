"""read_flow / write_flow on files in each real format, built by hand."""
import struct

import cv2
import h5py
import numpy as np
import pytest

from winwin_mm.datasets import FlowReadError, read_flow, write_flow

# A 2x3 flow with distinct values: u = 10 * row + col, v = -u / 2.
H, W = 2, 3
U = np.array([[0, 1, 2], [10, 11, 12]], np.float32)
FLOW = np.stack([U, -U / 2], -1)


def flo_bytes(flow, w=None, h=None):
    h0, w0 = flow.shape[:2]
    return (b'PIEH' + struct.pack('<ii', w or w0, h or h0) +
            flow.astype('<f4').tobytes())


def pfm_bytes(img, little_endian, kind=b'PF'):
    """PFM by the spec: rows from the bottom up, the sign of the scale is
    the byte order."""
    h, w = img.shape[:2]
    head = b'%s\n%d %d\n%s\n' % (kind, w, h,
                                 b'-1.0' if little_endian else b'1.0')
    return head + img[::-1].astype('<f4' if little_endian
                                   else '>f4').tobytes()


def write(path, data):
    path.write_bytes(data)
    return str(path)


def test_flo_values_and_unknown(tmp_path):
    flow = FLOW.copy()
    flow[1, 2] = (2e9, 0)  # Middlebury "unknown" (> 1e9)
    got, valid = read_flow(write(tmp_path / 'a.flo', flo_bytes(flow)))
    assert got.dtype == np.float32 and got.shape == (H, W, 2)
    assert valid.dtype == bool and valid.shape == (H, W)
    assert valid.sum() == H * W - 1 and not valid[1, 2]
    np.testing.assert_array_equal(got[valid], FLOW[valid])
    assert np.isnan(got[1, 2]).all()


@pytest.mark.parametrize('little_endian', [True, False])
def test_pfm_byte_orders_and_bottom_up_rows(tmp_path, little_endian):
    third = np.full((H, W, 1), 7, np.float32)  # FlyingThings' 3rd channel
    img = np.concatenate([FLOW, third], -1)
    path = write(tmp_path / 'a.pfm', pfm_bytes(img, little_endian))
    got, valid = read_flow(path)
    # Top row first (u = 0, 1, 2), although stored last.
    np.testing.assert_array_equal(got[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(got, FLOW)
    assert valid.all()


def test_pfm_header_on_separate_lines(tmp_path):
    data = pfm_bytes(np.concatenate([FLOW, FLOW[..., :1]], -1), True)
    data = data.replace(b'3 2\n', b'3\n2\n', 1)
    got, _ = read_flow(write(tmp_path / 'a.pfm', data))
    np.testing.assert_array_equal(got, FLOW)


def test_kitti_png_values_and_invalid_pixels(tmp_path):
    # On disk R = u * 64 + 2**15, G = v * 64 + 2**15, B = valid;
    # cv2 writes BGR, so channel 0 is B.
    u = np.array([[1.5, -2.25, 0], [100, -511.5, 3]])
    v = np.array([[-0.5, 4, 0], [0.015625, 7, -3]])
    valid = np.array([[1, 1, 0], [1, 1, 0]], np.uint16)
    bgr = np.stack([valid, v * 64 + 2**15, u * 64 + 2**15], -1)
    path = str(tmp_path / '000000_10.png')
    cv2.imwrite(path, bgr.astype(np.uint16))
    got, got_valid = read_flow(path)
    np.testing.assert_array_equal(got_valid, valid.astype(bool))
    np.testing.assert_allclose(got[..., 0][got_valid], u[valid > 0])
    np.testing.assert_allclose(got[..., 1][got_valid], v[valid > 0])
    assert np.isnan(got[~got_valid]).all()


def test_flo5_nan_is_invalid(tmp_path):
    flow = np.zeros((4, 6, 2), np.float32)
    flow[..., 0] = np.arange(24).reshape(4, 6)
    flow[2, 3] = np.nan
    flow[0, 0, 1] = np.nan  # one NaN component is enough
    path = str(tmp_path / 'flow_FW_left_0001.flo5')
    with h5py.File(path, 'w') as f:
        f.create_dataset('flow', data=flow.astype(np.float16))
    got, valid = read_flow(path)
    assert got.dtype == np.float32 and valid.sum() == 22
    assert not valid[2, 3] and not valid[0, 0]
    np.testing.assert_array_equal(got[valid], flow[valid])


def test_npy(tmp_path):
    path = str(tmp_path / '000000_000001_flow.npy')
    np.save(path, FLOW.astype(np.float64))
    got, valid = read_flow(path)
    assert got.dtype == np.float32 and valid.all()
    np.testing.assert_array_equal(got, FLOW)


@pytest.mark.parametrize('ext', ['.flo', '.pfm', '.png', '.flo5', '.npy'])
def test_write_flow_round_trip(tmp_path, ext):
    flow = FLOW * 1.25
    valid = np.ones((H, W), bool)
    valid[0, 1] = False
    path = str(tmp_path / 'sub' / f'a{ext}')
    write_flow(path, flow, valid)
    got, got_valid = read_flow(path)
    np.testing.assert_array_equal(got_valid, valid)
    np.testing.assert_allclose(got[valid], flow[valid], atol=1 / 64)


# ---- damaged files: a FlowReadError naming the file and the fault ----


def test_truncated_flo(tmp_path):
    flow = np.zeros((480, 640, 2), np.float32)
    path = write(tmp_path / 'x.flo', flo_bytes(flow)[:1012])
    with pytest.raises(FlowReadError,
                       match=r'x\.flo: truncated: header says 640x480x2 '
                       r'floats .* 1000 bytes'):
        read_flow(path)
    with pytest.raises(FlowReadError, match='x.flo: truncated'):
        read_flow(write(tmp_path / 'x.flo', b'PIEH\x01'))


def test_corrupt_flo(tmp_path):
    with pytest.raises(FlowReadError, match=r"b\.flo: not a \.flo file"):
        read_flow(write(tmp_path / 'b.flo', b'JUNK' + bytes(30)))
    with pytest.raises(FlowReadError, match='c.flo: corrupt header'):
        read_flow(write(tmp_path / 'c.flo', flo_bytes(FLOW, w=-3)))
    assert issubclass(FlowReadError, ValueError)


def test_truncated_and_corrupt_pfm(tmp_path):
    data = pfm_bytes(np.zeros((40, 30, 3), np.float32), True)
    with pytest.raises(FlowReadError,
                       match=r'y\.pfm: truncated: header says 30x40x3'):
        read_flow(write(tmp_path / 'y.pfm', data[:-4]))
    with pytest.raises(FlowReadError, match='z.pfm: truncated or corrupt'):
        read_flow(write(tmp_path / 'z.pfm', data[:6]))
    with pytest.raises(FlowReadError, match='w.pfm: not a PFM'):
        read_flow(write(tmp_path / 'w.pfm', b'P6\n3 2\n255\n'))
    with pytest.raises(FlowReadError, match='v.pfm: single-channel'):
        read_flow(write(tmp_path / 'v.pfm', pfm_bytes(
            np.zeros((2, 3, 1), np.float32), True, kind=b'Pf')))


def test_truncated_and_wrong_png(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 2**16, (64, 64, 3)).astype(np.uint16)
    ok = str(tmp_path / 'ok.png')
    cv2.imwrite(ok, img)
    data = open(ok, 'rb').read()
    with pytest.raises(FlowReadError, match='t.png: truncated'):
        read_flow(write(tmp_path / 't.png', data[:len(data) // 2]))
    bad = bytearray(data)
    bad[200:260] = bytes(60)  # damaged inside, end chunk intact
    with pytest.raises(FlowReadError, match='c.png: corrupt PNG'):
        read_flow(write(tmp_path / 'c.png', bytes(bad)))
    eight = str(tmp_path / 'e.png')
    cv2.imwrite(eight, (img >> 8).astype(np.uint8))
    with pytest.raises(FlowReadError, match='e.png: not a KITTI flow PNG: '
                       '8-bit'):
        read_flow(eight)


def test_not_hdf5_flo5(tmp_path):
    with pytest.raises(FlowReadError, match='n.flo5: not a readable HDF5'):
        read_flow(write(tmp_path / 'n.flo5', b'not an hdf5 file at all'))
    path = str(tmp_path / 'k.flo5')
    with h5py.File(path, 'w') as f:
        f.create_dataset('disparity', data=np.zeros((2, 2)))
    with pytest.raises(FlowReadError, match="k.flo5: no dataset 'flow'"):
        read_flow(path)
    data = (tmp_path / 'k.flo5').read_bytes()
    with pytest.raises(FlowReadError, match='t.flo5: .*truncated'):
        read_flow(write(tmp_path / 't.flo5', data[:len(data) // 2]))


def test_bad_npy_and_unknown_format(tmp_path):
    np.save(str(tmp_path / 'a.npy'), np.zeros((4, 4, 2), np.float32))
    data = (tmp_path / 'a.npy').read_bytes()
    with pytest.raises(FlowReadError, match='b.npy: corrupt or truncated'):
        read_flow(write(tmp_path / 'b.npy', data[:60]))
    np.save(str(tmp_path / 'c.npy'), np.zeros((4, 4), np.float32))
    with pytest.raises(FlowReadError, match=r'c.npy: flow of shape \(4, 4\)'):
        read_flow(str(tmp_path / 'c.npy'))
    with pytest.raises(FlowReadError, match="unknown flow format '.jpg'"):
        read_flow(str(tmp_path / 'a.jpg'))
    with pytest.raises(FileNotFoundError, match='missing.flo'):
        read_flow(str(tmp_path / 'missing.flo'))
