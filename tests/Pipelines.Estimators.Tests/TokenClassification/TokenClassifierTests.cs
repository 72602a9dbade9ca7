using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Estimators.Tests.TokenClassification;

[TestClass]
public sealed class TokenClassifierTests
{
    private static readonly List<SyntheticNer.Row> Train = SyntheticNer.Make(300, seed: 1);
    private static readonly List<SyntheticNer.Row> Test = SyntheticNer.Make(80, seed: 2);
    private static readonly TextTokenizer Tokenizer = SyntheticNer.Tokenizer(Train);

    private static TokenClassifierOptions Small() => new()
    {
        Tokenizer = Tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 32, MaxEpoch = 10, BatchSize = 16,
        LearningRate = 3e-3, Device = TestDevice.Option, Seed = 3, Dropout = 0,
    };

    private static IEstimator<ITransformer> Tokenize(MLContext ml, int maxLength = 32) =>
        ml.Transforms.Text.TokenizeSubwords("Tokens", "Sentence", Tokenizer, maxLength: maxLength);

    private static List<string[]> Predictions(IDataView scored) =>
        scored.GetColumn<VBuffer<ReadOnlyMemory<char>>>("PredictedLabel").Select(v => v.DenseValues().Select(t => t.ToString()).ToArray()).ToList();

    [TestMethod]
    public void TaggerLearnsEntitiesAndTheEvaluatorScoresThem()
    {
        var ml = new MLContext(seed: 1);
        var model = Tokenize(ml).Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(Small())).Fit(ml.Data.LoadFromEnumerable(Train));
        var scored = model.Transform(ml.Data.LoadFromEnumerable(Test));
        var metrics = ml.MulticlassClassification.EvaluateEntities(scored);
        Assert.IsGreaterThan(0.9, metrics.Micro.F1, metrics.ToString());
        CollectionAssert.AreEquivalent(new[] { "LOC", "ORG", "PER" }, metrics.PerType.Keys.ToArray());
        var predictions = Predictions(scored);
        for (var i = 0; i < Test.Count; i++) Assert.HasCount(Test[i].Label.Length, predictions[i], $"row {i}: one tag per word");

        // The evaluator against an independent count: exact entity matches over the rows.
        var found = Test.Select((row, i) => EntityTags.Extract(row.Label).Intersect(EntityTags.Extract(predictions[i])).Count()).Sum();
        var gold = Test.Sum(row => EntityTags.Extract(row.Label).Count);
        Assert.AreEqual(found / (double)gold, metrics.Micro.Recall, 1e-12);
    }

    [TestMethod]
    public void ConstrainedDecodingOpensNoEntityWithInsideAndTravelsInTheZip()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Train.Take(60));
        var test = ml.Data.LoadFromEnumerable(Test);
        // A barely trained tagger, whose word-by-word tags are often invalid.
        ITransformer Fit(TagDecoding decoding)
        {
            var options = Small();
            (options.MaxEpoch, options.Decoding) = (1, decoding);
            return Tokenize(ml).Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(options)).Fit(data);
        }
        var (independent, constrained) = (Fit(TagDecoding.Independent), Fit(TagDecoding.Constrained));
        var (loose, strict) = (Predictions(independent.Transform(test)), Predictions(constrained.Transform(test)));
        Assert.IsTrue(loose.Zip(strict).Any(p => !p.First.SequenceEqual(p.Second)), "the decodings differ somewhere on a weak tagger");

        // The training tags are IOB2, so output in IOB2: constrained output needs no repair, word by word's did.
        Assert.IsTrue(strict.All(tags => EntityTags.ToIob2(tags).SequenceEqual(tags)));
        var path = Path.Combine(Path.GetTempPath(), $"tagger-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(constrained, data.Schema, path);
            var loaded = ml.Model.Load(path, out _);
            Assert.AreEqual(TagDecoding.Constrained, ((TokenClassificationTransformer)((IEnumerable<ITransformer>)loaded).Last()).Decoding);
            CollectionAssert.AreEqual(strict.SelectMany(t => t).ToArray(), Predictions(loaded.Transform(test)).SelectMany(t => t).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void ACrfTaggerLearnsTransitionsDecodesValidTagsAndTravelsInTheZipAndOnnx()
    {
        var ml = new MLContext(seed: 1);
        var options = Small();
        options.Crf = true;
        var data = ml.Data.LoadFromEnumerable(Train);
        var model = Tokenize(ml).Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(options)).Fit(data);
        var tagger = (TokenClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        Assert.IsNotNull(tagger.Model.Crf);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(Test));
        var metrics = ml.MulticlassClassification.EvaluateEntities(scored);
        Assert.IsGreaterThan(0.9, metrics.Micro.F1, metrics.ToString());

        // The learned transitions prefer what the training tags do: a first name is followed by the rest of the name, never by another name.
        var (start, transitions, _) = tagger.Model.Crf!.Scores();
        var names = tagger.TagNames.ToList();
        int T(string from, string to) => names.IndexOf(from) * names.Count + names.IndexOf(to);
        Assert.IsGreaterThan(transitions[T("B-PER", "B-PER")], transitions[T("B-PER", "I-PER")], "a person's first name is followed by the rest of the name");
        Assert.IsLessThan(-1000f, transitions[T("O", "I-PER")], "forbidden");
        Assert.IsLessThan(-1000f, start[names.IndexOf("I-LOC")], "forbidden");

        var tags = Predictions(scored);
        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = ml.Model.Load(stream, out _);
        Assert.IsNotNull(((TokenClassificationTransformer)((IEnumerable<ITransformer>)loaded).Last()).Model.Crf, "the zip keeps the CRF");
        CollectionAssert.AreEqual(tags.SelectMany(t => t).ToArray(), Predictions(loaded.Transform(ml.Data.LoadFromEnumerable(Test))).SelectMany(t => t).ToArray());

        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Scoring.OnnxDeploymentTests.Export(ml, model));
        var exported = System.Text.Json.JsonSerializer.Deserialize<float[]>(session.ModelMetadata.CustomMetadataMap["pipelines.crf_transitions"])!;
        CollectionAssert.AreEqual(transitions, exported, "the graph's metadata carries the transitions an application decodes with");
    }

    [TestMethod]
    public void TheEntitiesColumnsAgreeWithTheTagsAsHuggingFacesAggregatedPipeline()
    {
        var ml = new MLContext(seed: 1);
        var options = Small();
        (options.MaxEpoch, options.EntitiesColumnName) = (3, "Entities");
        var estimator = Tokenize(ml).Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(options));
        var data = ml.Data.LoadFromEnumerable(Train);
        var shape = estimator.GetOutputSchema(SchemaShape.Create(data.Schema));
        Assert.IsTrue(shape.TryFindColumn("Entities.Score", out _), "the estimator declares the entity columns");
        var model = estimator.Fit(data);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(Test));
        var tags = Predictions(scored);
        var texts = scored.GetColumn<VBuffer<ReadOnlyMemory<char>>>("Entities").Select(v => v.DenseValues().Select(t => t.ToString()).ToArray()).ToList();
        var types = scored.GetColumn<VBuffer<ReadOnlyMemory<char>>>("Entities.Type").Select(v => v.DenseValues().Select(t => t.ToString()).ToArray()).ToList();
        var scores = scored.GetColumn<VBuffer<float>>("Entities.Score").Select(v => v.DenseValues().ToArray()).ToList();
        var starts = scored.GetColumn<VBuffer<int>>("Entities.Start").Select(v => v.DenseValues().ToArray()).ToList();
        var ends = scored.GetColumn<VBuffer<int>>("Entities.End").Select(v => v.DenseValues().ToArray()).ToList();
        Assert.IsGreaterThan(0, texts.Sum(t => t.Length));
        for (var row = 0; row < Test.Count; row++)
        {
            var expected = EntityTags.Extract(tags[row]);
            var words = Test[row].Sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            CollectionAssert.AreEqual(expected.Select(e => e.Type).ToArray(), types[row], $"row {row}");
            CollectionAssert.AreEqual(expected.Select(e => e.Start).ToArray(), starts[row]);
            CollectionAssert.AreEqual(expected.Select(e => e.End).ToArray(), ends[row]);
            CollectionAssert.AreEqual(expected.Select(e => string.Join(' ', words[e.Start..e.End])).ToArray(), texts[row]);
            Assert.IsTrue(scores[row].All(p => p is > 0 and <= 1), $"row {row}: scores are probabilities");
        }
        // Scores differ from entity to entity: they are the model's, not a constant.
        Assert.IsGreaterThan(1, scores.SelectMany(s => s).Distinct().Count());

        using var stream = new MemoryStream();
        ml.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var reloaded = ml.Model.Load(stream, out _).Transform(ml.Data.LoadFromEnumerable(Test));
        CollectionAssert.AreEqual(scores.SelectMany(s => s).ToArray(),
            reloaded.GetColumn<VBuffer<float>>("Entities.Score").SelectMany(v => v.DenseValues()).ToArray(), "the zip keeps the entity columns");
    }

    [TestMethod]
    public void ValidationTagsNeverSeenInTrainingAreCountedAndSkippedByTheLoss()
    {
        var ml = new MLContext(seed: 1);
        var warnings = new List<string>();
        ml.Log += (_, e) => { lock (warnings) warnings.Add(e.Message); };
        // Validation rows whose PER entities are relabelled as a type training never had.
        var validation = SyntheticNer.Make(40, seed: 5).Select(r => new SyntheticNer.Row
        {
            Sentence = r.Sentence, Label = r.Label.Select(t => t.EndsWith("-PER") ? t[..2] + "EVENT" : t).ToArray(),
        }).ToList();
        var words = validation.Sum(r => r.Label.Count(t => t.EndsWith("EVENT")));
        Assert.IsGreaterThan(0, words);
        var tokenize = Tokenize(ml);
        var validationData = ml.Data.LoadFromEnumerable(validation);
        var options = Small();
        options.MaxEpoch = 1;
        options.ValidationSet = tokenize.Fit(validationData).Transform(validationData);
        var model = tokenize.Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(options)).Fit(ml.Data.LoadFromEnumerable(Train));
        Assert.IsTrue(warnings.Any(w => w.Contains($"{words:N0} validation words have tags never seen in the training rows; the loss skips them.")),
            string.Join(" | ", warnings.Where(w => w.Contains("never seen"))));
        var tagger = (TokenClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        Assert.IsFalse(tagger.TagNames.Any(t => t.EndsWith("EVENT")), "a tag only validation has is not one the tagger predicts");
    }

    [TestMethod]
    public void Iob1TagsComeBackAsIob1AndTheZipPredictsTheSame()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(SyntheticNer.Make(300, seed: 1, iob1: true));
        var model = Tokenize(ml).Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(Small())).Fit(train);
        var tagger = (TokenClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        Assert.IsTrue(tagger.WritesIob1);
        Assert.AreEqual("O", tagger.TagNames[0]);
        Assert.IsTrue(tagger.TagNames.Skip(1).All(t => t.StartsWith("B-") || t.StartsWith("I-")));

        var testRows = SyntheticNer.Make(60, seed: 2, iob1: true);
        var test = ml.Data.LoadFromEnumerable(testRows);
        var predictions = Predictions(model.Transform(test));
        // In IOB1, B- appears only where an entity touches one of its type; the templates never do that.
        Assert.IsFalse(predictions.SelectMany(p => p).Any(t => t.StartsWith("B-")), "IOB1 output has no B- here");
        Assert.IsGreaterThan(0.9, ml.MulticlassClassification.EvaluateEntities(model.Transform(test)).Micro.F1);

        var path = Path.Combine(Path.GetTempPath(), $"tagger-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, train.Schema, path);
            var loaded = new MLContext(seed: 9).Model.Load(path, out _);
            var again = Predictions(loaded.Transform(test));
            for (var i = 0; i < predictions.Count; i++) CollectionAssert.AreEqual(predictions[i], again[i], $"row {i}");
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void KeyTagsFromMapValueToKeyWorkAndLongSentencesKeepOneTagPerWord()
    {
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Tokenize(ml, maxLength: 12))
            .Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(Small()));
        var model = pipeline.Fit(ml.Data.LoadFromEnumerable(Train));
        var longRow = new SyntheticNer.Row
        {
            Sentence = "John Smith met Mary in Paris . " + string.Join(' ', Enumerable.Repeat("prices rose again .", 10)),
            Label = [],
        };
        var words = longRow.Sentence.Split(' ').Length;
        var scored = model.Transform(ml.Data.LoadFromEnumerable(new[] { longRow }));
        var tags = Predictions(scored)[0];
        Assert.HasCount(words, tags);
        Assert.IsTrue(tags.Skip(12).All(t => t == "O"), "words past the maximum length are tagged O");
        CollectionAssert.AreEqual(new[] { "B-PER", "I-PER", "O", "B-PER", "O", "B-LOC" }, tags.Take(6).ToArray());
    }

    [TestMethod]
    public void OneChainPretrainsOnEveryRowAndTagsWithTheTaggedOnes()
    {
        var ml = new MLContext(seed: 1);
        // Two rows in three lose their tags: pretraining reads their text, the tagger skips them.
        var rows = Train.Select((r, i) => i % 3 == 0 ? r : new SyntheticNer.Row { Sentence = r.Sentence, Label = [] }).ToList();
        var pretrain = ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
        {
            Tokenizer = Tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 32, MaxSteps = 40, BatchSize = 16, Device = TestDevice.Option, Seed = 4,
        });
        var options = Small();
        options.Base = EncoderSource.FromEstimator(pretrain);
        options.MaxEpoch = 10;
        var logged = new List<string>();
        ml.Log += (_, e) => { lock (logged) logged.Add(e.Message); };
        var chain = Tokenize(ml).Append(pretrain).Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(options));
        var model = chain.Fit(ml.Data.LoadFromEnumerable(rows));

        var tagged = rows.Count(r => r.Label.Length > 0);
        Assert.IsTrue(logged.Any(m => m.Contains($"{rows.Count - (int)(rows.Count * 0.1):N0} training and")), "pretraining saw every row");
        Assert.IsTrue(logged.Any(m => m.Contains($"{tagged:N0} tagged sentences ({rows.Count - tagged:N0} untagged)")), "the tagger saw the tagged ones");
        var test = ml.Data.LoadFromEnumerable(Test);
        Assert.IsGreaterThan(0.8, ml.MulticlassClassification.EvaluateEntities(model.Transform(test)).Micro.F1);

        var path = Path.Combine(Path.GetTempPath(), $"ner-chain-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, null, path);
            var loaded = new MLContext().Model.Load(path, out _);
            CollectionAssert.AreEqual(Predictions(model.Transform(test)).Select(p => string.Join(' ', p)).ToList(),
                Predictions(loaded.Transform(test)).Select(p => string.Join(' ', p)).ToList());
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void HeadOnlyTaggingKeepsThePretrainedEncoderExactly()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Train);
        var pretrain = ml.Pretraining.MaskedLanguageModel(new MaskedLanguageModelOptions
        {
            Tokenizer = Tokenizer, Layers = 1, Hidden = 32, Heads = 2, MaxLength = 32, MaxSteps = 10, BatchSize = 16, Device = TestDevice.Option, Seed = 4,
        });
        var chain = Tokenize(ml).Append(pretrain).Fit(data);
        var pretrained = (MaskedLanguageModelTransformer)((IEnumerable<ITransformer>)chain).Last();
        // A cursor that reads only an input column (as FeaturizeText's fit does) must not need the model's columns.
        CollectionAssert.AreEqual(Train.Select(r => r.Sentence).ToList(), chain.Transform(data).GetColumn<string>("Sentence").ToList());
        var options = Small();
        options.Base = EncoderSource.FromTransformer(pretrained);
        options.Strategy = FineTuneStrategy.HeadOnly;
        options.MaxEpoch = 1;
        var model = Tokenize(ml).Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(options)).Fit(data);
        var tagger = (TokenClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var expected = pretrained.Model.Bert.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var names = tagger.Model.Bert.named_parameters().Select(p => p.name).ToList();
        Assert.IsGreaterThan(10, names.Count);
        foreach (var (name, parameter) in tagger.Model.Bert.named_parameters())
            Assert.AreEqual(0f, (parameter.cpu() - expected[name].cpu()).abs().max().item<float>(), name);
        var head = tagger.Model.named_parameters().Single(p => p.name == "classifier.weight").parameter;
        Assert.AreEqual(tagger.TagNames.Count, (int)head.shape[0]);
    }

    [TestMethod]
    public void BadTagsFailBeforeTrainingWithTheRowNamed()
    {
        var ml = new MLContext(seed: 1);
        var trainer = Tokenize(ml).Append(ml.MulticlassClassification.Trainers.TransformerTokenClassifier(Small()));
        var mismatch = Train.Take(20).ToList();
        mismatch[7] = new SyntheticNer.Row { Sentence = mismatch[7].Sentence, Label = mismatch[7].Label[..^1] };
        var error = Assert.ThrowsExactly<InvalidDataException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(mismatch)));
        StringAssert.Contains(error.Message, "Row 7");

        var untagged = Train.Take(20).Select(r => new SyntheticNer.Row { Sentence = r.Sentence, Label = [] });
        Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(untagged)));
        var allOutside = Train.Take(20).Select(r => new SyntheticNer.Row { Sentence = r.Sentence, Label = r.Label.Select(_ => "O").ToArray() });
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(ml.Data.LoadFromEnumerable(allOutside))).Message, "at least two tags");
    }
}
