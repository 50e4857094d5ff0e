# Caltech Pedestrian as written by tools/dataset_converters/caltech.py:
#   python tools/dataset_converters/caltech.py RAW data/caltech --train-skip 3
# Train: set00-set05 every 3rd frame ("10x", train-10x.json; train.json is 1x),
# positives = person, h >= 50, visibility >= 0.65, the rest ignore regions.
# Test: set06-set10 every 30th frame (4024 images), MR-2 on the Reasonable setup.
dataset_type = 'CaltechPedestrianDataset'
data_root = 'data/caltech/'
backend_args = None

train_pipeline = [
    dict(type='mmdet.LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.LoadAnnotations', with_bbox=True),
    dict(type='mmdet.Resize', scale=(640, 480), keep_ratio=True),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.PackDetInputs'),
]
test_pipeline = [
    dict(type='mmdet.LoadImageFromFile', backend_args=backend_args),
    dict(type='mmdet.Resize', scale=(640, 480), keep_ratio=True),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='mmdet.AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train-10x.json',
        data_prefix=dict(img='images/'),
        positive_rule=dict(labels=('person', ), min_height=50,
                           min_visibility=0.65),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/test.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CaltechMRMetric',
    ann_file=data_root + 'annotations/test.json',
    setups=('Reasonable', ))
test_evaluator = val_evaluator
