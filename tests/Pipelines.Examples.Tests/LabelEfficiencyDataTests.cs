using Pipelines.Examples.Common;

namespace Pipelines.Examples.Tests;

/// <summary>What the label-efficiency experiment reads: SST-2's files and the head + tail view of a long text.</summary>
[TestClass]
public sealed class LabelEfficiencyDataTests
{
    [TestMethod]
    public void Sst2RowsKeepTheirSentenceAndLabelAndABadLabelIsRefused()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"sst2-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllText(Path.Combine(folder, "train.tsv"), "sentence\tlabel\na gorgeous , witty film \t1\nstale and dull \t0\n");
            File.WriteAllText(Path.Combine(folder, "test.tsv"), "sentence\tlabel\nit 's a charming journey .\t1\n");
            var (train, test) = Sst2.Load(folder);
            Assert.AreEqual(2, train.Count, "the header line is not a row");
            Assert.AreEqual("a gorgeous , witty film", train[0].Text);
            Assert.IsTrue(train[0].Label);
            Assert.IsFalse(train[1].Label);
            Assert.AreEqual(0f, train[1].PartialLabel);
            Assert.AreEqual("it 's a charming journey .", test.Single().Text);
            CollectionAssert.AllItemsAreUnique(train.Concat(test).Select(e => e.Id).ToList(), "ids tell labelled rows from unlabelled ones");

            File.WriteAllText(Path.Combine(folder, "test.tsv"), "sentence\tlabel\nno label here\n");
            var error = Assert.Throws<InvalidDataException>(() => Sst2.Load(folder));
            StringAssert.Contains(error.Message, "row 2");
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [TestMethod]
    public void HeadAndTailKeepsTheFirstAndLastWordsOfALongTextOnly()
    {
        var words = Enumerable.Range(1, 30).Select(i => $"w{i}").ToArray();
        var mail = new Email { Id = "spam-1/7", Text = string.Join(" \n", words), Label = true, PartialLabel = 1 };
        var view = LabelEfficiency.HeadAndTail(mail, 4);
        Assert.AreEqual("w1 w2 w3 w4 w27 w28 w29 w30", view.Text);
        Assert.AreEqual((mail.Id, mail.Label, mail.PartialLabel), (view.Id, view.Label, view.PartialLabel));
        Assert.AreSame(mail, LabelEfficiency.HeadAndTail(mail, 15), "a text of no more than 2 x 15 words is read whole");
    }
}
