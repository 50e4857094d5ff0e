"""The bundled demo (``tools/run_demo.py``): the paper in miniature on a
generated Caltech-format dataset, through the real tools, over seeds.

Modules, in the order a run uses them (none is imported here, so that
``import mmmimic.demo.results`` stays light):

- :mod:`~mmmimic.demo.runs`: the rows of the tables (the demo's three runs
  and the ablation rows with their findings), their configs, schedules and
  run keys, and the condition (data variant, schedule length) rows are kept
  under;
- :mod:`~mmmimic.demo.data`: the generated dataset (made, converted, reused
  by its manifest), the options that point a config at it, its scoring;
- :mod:`~mmmimic.demo.teacher`: the shipped teacher (SHA-256 checked) or one
  trained here from the ImageNet weights;
- :mod:`~mmmimic.demo.jobs`: a tool run with its log, and jobs (a row at a
  seed) run in parallel;
- :mod:`~mmmimic.demo.plan`: the training and test steps of each row and seed
  not yet recorded (a finished run is reused);
- :mod:`~mmmimic.demo.results`: ``results.json``, rows of MR-2 per seed kept
  by run key, and the ablation verdict;
- :mod:`~mmmimic.demo.tables`: the main table and the ablation table;
- :mod:`~mmmimic.demo.report`: the MR-2 of the asked seeds, the deployed
  models' figures, the tables and figures written into the work dir.
"""
