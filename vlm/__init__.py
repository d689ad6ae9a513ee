"""The grounded vision-language layer: images and reports in, answers with their causal evidence out.

Modules, one job each: :mod:`vlm.images` (safe image loading), :mod:`vlm.data` (data-set readers,
the IU-Xray layout), :mod:`vlm.labels` (the label space), :mod:`vlm.encoders` (MiniLM text
embeddings), :mod:`vlm.tokenizer`, :mod:`vlm.model` (the ``mcrag-vlm`` Hugging Face model),
:mod:`vlm.backends` (loading any local checkpoint), :mod:`vlm.train` (CPU training),
:mod:`vlm.calibration`, :mod:`vlm.index` (the FAISS HNSW exemplar index), :mod:`vlm.retrieval` (the
``none`` / ``semantic`` / ``causal`` modes), :mod:`vlm.counterfactual`, :mod:`vlm.grounding`
(evidence for prompts), :mod:`vlm.prompts` and :mod:`vlm.infer` (:class:`~vlm.infer.Grounder`).

Entry points for other jobs: ``vlm.train.train_default(data_dir, out_dir, config=TrainConfig.fast())``,
``vlm.index.build_index(data_dir, out_dir, model_path)`` and
``vlm.infer.Grounder.load(model, index, store).infer(image, task, question, retrieval, findings=...)``.
"""
