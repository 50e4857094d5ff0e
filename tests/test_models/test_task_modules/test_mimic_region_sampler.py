"""MimicRegionSampler: quotas, ratios, order, ignore handling, the gt variant."""
import pytest
import torch
from mmengine.structures import InstanceData

from mmmimic.models.task_modules import MimicRegionSampler
from mmmimic.utils import register_all_modules

register_all_modules()

GT = torch.tensor([[0., 0., 40., 80.], [100., 20., 140., 100.]])


def proposals(num_pos_like=30, num_neg_like=100, seed=0):
    """Proposals jittered around the ground truth (positives) plus far boxes."""
    g = torch.Generator().manual_seed(seed)
    near = GT[torch.randint(0, 2, (num_pos_like, ), generator=g)] + \
        torch.randn(num_pos_like, 4, generator=g)
    x = torch.rand(num_neg_like, generator=g) * 100 + 200
    far = torch.stack([x, x * 0, x + 30, x * 0 + 60], dim=1)
    boxes = torch.cat([near, far])
    scores = torch.rand(len(boxes), generator=g)
    return InstanceData(bboxes=boxes, scores=scores)


def max_iou(boxes, gt=GT):
    from mmdet.structures.bbox import bbox_overlaps
    return bbox_overlaps(boxes, gt).max(dim=1).values


def test_quota_and_ratio():
    sampler = MimicRegionSampler(num=40, pos_fraction=0.5)
    boxes, is_pos = sampler.sample(proposals(), InstanceData(bboxes=GT))
    assert len(boxes) == 40 and is_pos.sum() == 20
    assert torch.all(max_iou(boxes[is_pos]) >= 0.5)
    assert torch.all(max_iou(boxes[~is_pos]) < 0.5)


def test_negatives_fill_when_positives_run_short():
    sampler = MimicRegionSampler(num=64, pos_fraction=0.5)
    boxes, is_pos = sampler.sample(proposals(num_pos_like=5),
                                   InstanceData(bboxes=GT))
    assert is_pos.sum() == 5 and len(boxes) == 64


def test_score_order_takes_the_top():
    props = proposals()
    sampler = MimicRegionSampler(num=20, pos_fraction=0.5, order='score')
    boxes, is_pos = sampler.sample(props, InstanceData(bboxes=GT))
    pos_mask = max_iou(props.bboxes) >= 0.5
    top_pos = props.scores[pos_mask].sort(descending=True).values[:10]
    picked = [props.scores[(props.bboxes == b).all(1)].max() for b in boxes[is_pos]]
    assert torch.allclose(torch.stack(picked), top_pos)


def test_random_order_differs_from_score_order():
    props = proposals()
    gt = InstanceData(bboxes=GT)
    torch.manual_seed(0)
    a, _ = MimicRegionSampler(num=20, order='random').sample(props, gt)
    b, _ = MimicRegionSampler(num=20, order='score').sample(props, gt)
    assert not torch.equal(a, b)


def test_ignored_gt_never_makes_a_positive():
    props = proposals()
    sampler = MimicRegionSampler(num=64)
    # both gt boxes ignored: no positives at all
    _, is_pos = sampler.sample(props, InstanceData(bboxes=GT[:0]),
                               InstanceData(bboxes=GT))
    assert is_pos.sum() == 0
    # one kept, one ignored: positives only around the kept one
    boxes, is_pos = sampler.sample(props, InstanceData(bboxes=GT[:1]),
                                   InstanceData(bboxes=GT[1:]))
    assert is_pos.sum() > 0
    assert torch.all(max_iou(boxes[is_pos], GT[:1]) >= 0.5)
    assert torch.all(max_iou(boxes[is_pos], GT[1:]) < 0.5)


def test_proposals_inside_ignored_boxes_are_left_out_when_asked():
    props = proposals()
    ignored = InstanceData(bboxes=GT[1:])
    inside = max_iou(props.bboxes, GT[1:]) >= 0.5   # mostly inside it
    # default (-1): proposals on the ignored box are negatives
    boxes, is_pos = MimicRegionSampler(num=256).sample(
        props, InstanceData(bboxes=GT[:1]), ignored)
    assert (max_iou(boxes[~is_pos], GT[1:]) >= 0.5).sum() == inside.sum()
    # ignore_iof_thr=0.5: neither positive nor negative
    boxes, is_pos = MimicRegionSampler(num=256, ignore_iof_thr=0.5).sample(
        props, InstanceData(bboxes=GT[:1]), ignored)
    assert inside.sum() > 0
    assert (max_iou(boxes, GT[1:]) >= 0.5).sum() == 0
    assert is_pos.sum() > 0   # the kept box still gives positives


def test_gt_source_uses_gt_boxes_and_random_negatives():
    sampler = MimicRegionSampler(num=16, source='gt')
    boxes, is_pos = sampler.sample(proposals(), InstanceData(bboxes=GT))
    assert is_pos.sum() == 2
    assert torch.equal(boxes[is_pos].sort(dim=0).values, GT.sort(dim=0).values)
    assert len(boxes) == 16 and torch.all(max_iou(boxes[~is_pos]) < 0.5)


def test_batch_call_gives_rois_with_batch_index():
    from mmdet.structures import DetDataSample
    samples = []
    for _i in range(2):
        s = DetDataSample()
        s.gt_instances = InstanceData(bboxes=GT, labels=torch.zeros(2).long())
        samples.append(s)
    rois, is_pos = MimicRegionSampler(num=10)([proposals(), proposals(seed=1)],
                                              samples)
    assert rois.shape == (20, 5) and is_pos.shape == (20, )
    assert torch.equal(rois[:, 0], torch.tensor([0.] * 10 + [1.] * 10))


def test_no_proposals_and_no_gt():
    sampler = MimicRegionSampler()
    boxes, is_pos = sampler.sample(
        InstanceData(bboxes=torch.zeros(0, 4), scores=torch.zeros(0)),
        InstanceData(bboxes=torch.zeros(0, 4)))
    assert boxes.shape == (0, 4) and is_pos.shape == (0, )
    boxes, is_pos = sampler.sample(proposals(), InstanceData(
        bboxes=torch.zeros(0, 4)))
    assert is_pos.sum() == 0 and len(boxes) == min(256, 130)


@pytest.mark.parametrize('kwargs,match', [
    (dict(num=0), 'num'), (dict(pos_fraction=1.5), 'pos_fraction'),
    (dict(order='best'), 'order'), (dict(source='boxes'), 'source'),
    (dict(pos_iou_thr=0.5, neg_iou_thr=0.6), 'neg_iou_thr'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MimicRegionSampler(**kwargs)
