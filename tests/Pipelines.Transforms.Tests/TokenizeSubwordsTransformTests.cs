using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class TokenizeSubwordsTransformTests
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
        public string Second { get; set; } = "";
        public float Number { get; set; }
    }

    private static IDataView Data(MLContext ml) => ml.Data.LoadFromEnumerable(new[]
    {
        new Row { Text = "Unbelievable cat playing", Second = "the mat" },
        new Row { Text = "", Second = "hello" },
        new Row { Text = "the cat sat on the mat the cat sat on the mat", Second = "hello world" },
    });

    [TestMethod]
    public void OutputSchemaIsKnownBeforeFit()
    {
        var ml = new MLContext(seed: 1);
        var estimator = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Vocabularies.WordPiece());
        var shape = estimator.GetOutputSchema(SchemaShape.Create(Data(ml).Schema));
        foreach (var name in new[] { "Tokens", "Tokens.AttentionMask", "Tokens.WordIds", "Tokens.SegmentIds" })
        {
            Assert.IsTrue(shape.TryFindColumn(name, out var column), name);
            Assert.AreEqual(SchemaShape.Column.VectorKind.VariableVector, column.Kind, name);
            Assert.AreEqual(NumberDataViewType.Int32, column.ItemType, name);
            Assert.AreEqual(name == "Tokens", TokenizationAnnotation.IsDeclared(column), $"{name}: only the token ids carry the tokenization");
        }
    }

    [TestMethod]
    public void TokenizedDataStillSavesInMLNetsBinaryAndTextFormats()
    {
        // ML.NET's savers write the annotations they know; the tokenization annotation is not one of
        // them and must not stop a user from caching tokenized data.
        var ml = new MLContext(seed: 1);
        var tokenized = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Vocabularies.WordPiece(), maxLength: 7).Fit(Data(ml)).Transform(Data(ml));
        using var binary = new MemoryStream();
        ml.Data.SaveAsBinary(tokenized, binary, keepHidden: false);
        binary.Position = 0;
        var reloaded = ml.Data.LoadFromBinary(new MemoryStreamSource(binary.ToArray()));
        CollectionAssert.AreEqual(tokenized.GetColumn<int[]>("Tokens").First(), reloaded.GetColumn<int[]>("Tokens").First());
        using var text = new MemoryStream();
        ml.Data.SaveAsText(tokenized, text);
        Assert.IsGreaterThan(0L, text.Length);
    }

    private sealed class MemoryStreamSource(byte[] bytes) : IMultiStreamSource
    {
        public int Count => 1;
        public string GetPathOrNull(int index) => "";
        public Stream Open(int index) => new MemoryStream(bytes, writable: false);
        public TextReader OpenTextReader(int index) => new StreamReader(Open(index));
    }

    [TestMethod]
    public void TheTokenColumnCarriesTheTokenizationThatWroteIt()
    {
        var ml = new MLContext(seed: 1);
        var tokenizer = Vocabularies.WordPiece();
        var transformer = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 7).Fit(Data(ml));
        var schema = transformer.Transform(Data(ml)).Schema;
        var tokenization = TokenizationAnnotation.Get(schema["Tokens"]);
        Assert.AreSame(transformer, tokenization);
        Assert.AreSame(tokenizer, tokenization!.Tokenizer);
        Assert.AreEqual(7, tokenization.MaxLength);
        Assert.AreEqual("Text", tokenization.InputColumnName);
        CollectionAssert.AreEqual(new[] { "Tokens", "Tokens.AttentionMask", "Tokens.WordIds", "Tokens.SegmentIds" }, tokenization.OutputColumnNames.ToArray());
        Assert.IsNull(TokenizationAnnotation.Get(schema["Tokens.WordIds"]));
        Assert.IsNull(TokenizationAnnotation.Get(schema["Text"]));
        // Columns passed through later steps keep it, as ML.NET keeps every annotation.
        var copied = ml.Transforms.CopyColumns("Other", "Number").Fit(transformer.Transform(Data(ml))).Transform(transformer.Transform(Data(ml)));
        Assert.AreSame(transformer, TokenizationAnnotation.Get(copied.Schema["Tokens"]));
    }

    [TestMethod]
    public void MissingOrMistypedColumnsFailNamingTheColumnAndType()
    {
        var ml = new MLContext(seed: 1);
        var data = Data(ml);
        var schema = SchemaShape.Create(data.Schema);
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Transforms.Text.TokenizeSubwords("Tokens", "Body", Vocabularies.WordPiece()).GetOutputSchema(schema));
        StringAssert.Contains(missing.Message, "Could not find input column 'Body'");
        var wrongType = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Transforms.Text.TokenizeSubwords("Tokens", "Number", Vocabularies.WordPiece()).Fit(data));
        StringAssert.Contains(wrongType.Message, "Schema mismatch for input column 'Number': expected String, got Single");
        var badPair = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Vocabularies.WordPiece(), pairColumnName: "Number").GetOutputSchema(schema));
        StringAssert.Contains(badPair.Message, "'Number'");
    }

    [TestMethod]
    public void TransformerChecksTheRealInputToo()
    {
        var ml = new MLContext(seed: 1);
        var transformer = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Vocabularies.WordPiece()).Fit(Data(ml));
        var other = ml.Data.LoadFromEnumerable(new[] { new { Body = "x" } });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(other));
        StringAssert.Contains(e.Message, "'Text'");
    }

    [TestMethod]
    public void ColumnsHoldTheTokenizersEncoding()
    {
        var ml = new MLContext(seed: 1);
        var tokenizer = Vocabularies.WordPiece();
        var transformed = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 8, pairColumnName: "Second").Fit(Data(ml)).Transform(Data(ml));
        var ids = transformed.GetColumn<int[]>("Tokens").ToArray();
        var words = transformed.GetColumn<int[]>("Tokens.WordIds").ToArray();
        var segments = transformed.GetColumn<int[]>("Tokens.SegmentIds").ToArray();
        var masks = transformed.GetColumn<int[]>("Tokens.AttentionMask").ToArray();
        var expected = tokenizer.Encode("Unbelievable cat playing", "the mat", maxLength: 8);
        CollectionAssert.AreEqual(expected.Ids, ids[0]);
        CollectionAssert.AreEqual(expected.WordIds, words[0]);
        CollectionAssert.AreEqual(expected.SegmentIds, segments[0]);
        CollectionAssert.AreEqual(new[] { 2, 3, 5, 3 }, ids[1]); // empty first text: [CLS] [SEP] hello [SEP]
        Assert.HasCount(8, ids[2]);
        Assert.IsTrue(masks.All(m => m.All(v => v == 1)));
    }

    [TestMethod]
    public void ReadingOnlyOtherColumnsDoesNotTouchTheText()
    {
        var ml = new MLContext(seed: 1);
        var transformed = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Vocabularies.WordPiece()).Fit(Data(ml)).Transform(Data(ml));
        CollectionAssert.AreEqual(new[] { "the mat", "hello", "hello world" }, transformed.GetColumn<string>("Second").ToArray());
    }

    [TestMethod]
    public void FixedPaddingGivesFixedSizeColumns()
    {
        var ml = new MLContext(seed: 1);
        var options = new TokenizeSubwordsOptions { OutputColumnName = "T", InputColumnName = "Text", MaxLength = 10, PadToMaxLength = true };
        var transformed = ml.Transforms.Text.TokenizeSubwords(Vocabularies.WordPiece(), options).Fit(Data(ml)).Transform(Data(ml));
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Int32, 10), transformed.Schema["T"].Type);
        var row = transformed.GetColumn<int[]>("T").Skip(1).First();
        CollectionAssert.AreEqual(new[] { 2, 3, 0, 0, 0, 0, 0, 0, 0, 0 }, row);
        CollectionAssert.AreEqual(new[] { 1, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, transformed.GetColumn<int[]>("T.AttentionMask").Skip(1).First());
    }

    [TestMethod]
    public void TruncatedRowsAndUnknownTokensAreLogged()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        var transformer = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Vocabularies.WordPiece(), maxLength: 6).Fit(Data(ml));
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { Text = "zebra cat" }, new Row { Text = "the cat sat on the mat" }, new Row { Text = "cat" } });
        _ = transformer.Transform(data).GetColumn<int[]>("Tokens").ToArray();
        Assert.IsTrue(messages.Any(m => m.Contains("1 of 3 rows truncated, 1 of 13 tokens unknown")), string.Join("\n", messages));
    }

    [TestMethod]
    public void ReadingTheIdsWithoutTheWordIdsGivesTheSameIds()
    {
        // Word ids are computed only when their column is read (BPE and tiktoken then use the library's
        // ids-only call): the ids must not change.
        var texts = new[] { "The cat sat on the mat, unbelievable! Hello world 😀 naïve\n\nline", "", "  x  ", new string('a', 5000) };
        foreach (var tokenizer in new[] { Vocabularies.WordPiece(), Vocabularies.Bpe(), TextTokenizer.FromTiktoken("cl100k_base"),
                     TextTokenizer.FromTiktoken("o200k_base").Compact(texts, keep: 20), Vocabularies.Characters(), Vocabularies.SentencePiece() })
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t, Second = "the cat" }));
            var output = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 64, pairColumnName: "Second").Fit(data).Transform(data);
            var idsOnly = output.GetColumn<int[]>("Tokens").ToArray();
            for (var i = 0; i < texts.Length; i++)
                CollectionAssert.AreEqual(tokenizer.Encode(texts[i], "the cat", maxLength: 64).Ids, idsOnly[i], $"{tokenizer.Kind}, text {i}");
        }
    }

    [TestMethod]
    public void EveryTokenizerFamilySavesToAZipAndReloadsWithIdenticalOutput()
    {
        foreach (var tokenizer in new[] { Vocabularies.WordPiece(), Vocabularies.Bpe(), TextTokenizer.FromTiktoken("cl100k_base"), Vocabularies.Characters(), Vocabularies.SentencePiece() })
        {
            var path = Path.Combine(Path.GetTempPath(), $"tokenize-{Guid.NewGuid():N}.zip");
            try
            {
                var ml = new MLContext(seed: 1);
                var data = Data(ml);
                var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: 12, pairColumnName: "Second").Fit(data);
                ml.Model.Save(model, data.Schema, path);

                var other = new MLContext(seed: 2);
                var loaded = other.Model.Load(path, out _);
                var reloaded = Assert.IsInstanceOfType<TokenizeSubwordsTransformer>(loaded);
                Assert.AreEqual(tokenizer.VocabSize, reloaded.Tokenizer.VocabSize);
                foreach (var column in new[] { "Tokens", "Tokens.AttentionMask", "Tokens.WordIds", "Tokens.SegmentIds" })
                {
                    var before = model.Transform(data).GetColumn<int[]>(column).ToArray();
                    var after = loaded.Transform(Data(other)).GetColumn<int[]>(column).ToArray();
                    for (var i = 0; i < before.Length; i++) CollectionAssert.AreEqual(before[i], after[i], $"{tokenizer.Kind} {column} row {i}");
                }
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    [TestMethod]
    public void PredictionEngineTokenizesOneText()
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Vocabularies.WordPiece()).Fit(Data(ml));
        var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(model);
        CollectionAssert.AreEqual(new[] { 2, 10, 11, 3 }, engine.Predict(new Row { Text = "The cat" }).Tokens);
    }

    private sealed class Prediction
    {
        public int[] Tokens { get; set; } = [];
    }
}
