using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Transforms.Tests;

[TestClass]
public sealed class MaskTokensTransformTests
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
        public float Number { get; set; }
    }

    private static IDataView Texts(MLContext ml) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, 40).Select(i =>
        new Row { Text = string.Join(' ', Enumerable.Range(0, 30).Select(j => (i + j) % 3 == 0 ? "unbelievable" : "the cat sat")) }));

    private static IEstimator<ITransformer> Pipeline(MLContext ml, MaskingOptions? options = null, int seed = 5) =>
        ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", Vocabularies.WordPiece(), maxLength: 128)
            .Append(ml.Transforms.Text.MaskTokens("Masked", "Tokens", Vocabularies.WordPiece(), options, wordIdsColumnName: "Tokens.WordIds", seed: seed));

    [TestMethod]
    public void MaskedColumnAndLabelsFollowTheMasker()
    {
        var ml = new MLContext(seed: 1);
        var transformed = Pipeline(ml).Fit(Texts(ml)).Transform(Texts(ml));
        var tokens = transformed.GetColumn<int[]>("Tokens").ToArray();
        var masked = transformed.GetColumn<int[]>("Masked").ToArray();
        var labels = transformed.GetColumn<int[]>("Masked.Labels").ToArray();
        var tokenizer = Vocabularies.WordPiece();
        long chosen = 0, maskable = 0;
        for (var r = 0; r < tokens.Length; r++)
        {
            for (var i = 0; i < tokens[r].Length; i++)
            {
                if (tokenizer.SpecialIds.Contains(tokens[r][i])) { Assert.AreEqual(-100, labels[r][i]); continue; }
                maskable++;
                if (labels[r][i] == -100) Assert.AreEqual(tokens[r][i], masked[r][i]);
                else { chosen++; Assert.AreEqual(tokens[r][i], labels[r][i]); }
            }
        }
        Assert.AreEqual(0.15, (double)chosen / maskable, 0.03);
    }

    [TestMethod]
    public void MaskingIsTheSameOnEveryPassAndDiffersBetweenSeeds()
    {
        var ml = new MLContext(seed: 1);
        var model = Pipeline(ml).Fit(Texts(ml));
        var first = model.Transform(Texts(ml)).GetColumn<int[]>("Masked.Labels").ToArray();
        var second = model.Transform(Texts(ml)).GetColumn<int[]>("Masked.Labels").ToArray();
        var other = Pipeline(ml, seed: 6).Fit(Texts(ml)).Transform(Texts(ml)).GetColumn<int[]>("Masked.Labels").ToArray();
        for (var r = 0; r < first.Length; r++) CollectionAssert.AreEqual(first[r], second[r]);
        Assert.IsTrue(Enumerable.Range(0, first.Length).Any(r => !first[r].SequenceEqual(other[r])));
    }

    [TestMethod]
    public void WholeWordMaskingInThePipelineMasksAllPiecesOfUnbelievable()
    {
        var ml = new MLContext(seed: 1);
        var transformed = Pipeline(ml, new MaskingOptions { Strategy = MaskingStrategy.WholeWord }).Fit(Texts(ml)).Transform(Texts(ml));
        var words = transformed.GetColumn<int[]>("Tokens.WordIds").ToArray();
        var labels = transformed.GetColumn<int[]>("Masked.Labels").ToArray();
        var checkedWords = 0;
        for (var r = 0; r < words.Length; r++)
        {
            foreach (var word in words[r].Where(w => w >= 0).Distinct())
            {
                var positions = Enumerable.Range(0, words[r].Length).Where(i => words[r][i] == word).ToArray();
                var chosen = positions.Count(i => labels[r][i] != -100);
                Assert.IsTrue(chosen == 0 || chosen == positions.Length, $"row {r} word {word}: {chosen} of {positions.Length}");
                checkedWords++;
            }
        }
        Assert.IsGreaterThan(1000, checkedWords);
    }

    [TestMethod]
    public void WrongColumnsFailNamingTheColumnAndType()
    {
        var ml = new MLContext(seed: 1);
        var data = Texts(ml);
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Text.MaskTokens("M", "Tokens", Vocabularies.WordPiece()).Fit(data));
        StringAssert.Contains(missing.Message, "Could not find input column 'Tokens'");
        var wrong = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Text.MaskTokens("M", "Text", Vocabularies.WordPiece()).GetOutputSchema(SchemaShape.Create(data.Schema)));
        StringAssert.Contains(wrong.Message, "Schema mismatch for input column 'Text': expected Vector<Int32>");
    }

    [TestMethod]
    public void SavesToAZipAndReloadsWithIdenticalOutput()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mask-{Guid.NewGuid():N}.zip");
        try
        {
            var ml = new MLContext(seed: 1);
            var data = Texts(ml);
            var model = Pipeline(ml, new MaskingOptions { Strategy = MaskingStrategy.Span, MaskProbability = 0.3 }).Fit(data);
            ml.Model.Save(model, data.Schema, path);
            var loaded = new MLContext(seed: 9).Model.Load(path, out _);
            foreach (var column in new[] { "Masked", "Masked.Labels" })
            {
                var before = model.Transform(data).GetColumn<int[]>(column).ToArray();
                var after = loaded.Transform(data).GetColumn<int[]>(column).ToArray();
                for (var r = 0; r < before.Length; r++) CollectionAssert.AreEqual(before[r], after[r], $"{column} row {r}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
