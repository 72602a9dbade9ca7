
namespace Pipelines.Estimators.Tests;

/// <summary>
/// A small synthetic mail corpus with a learnable signal: spam rows carry two of a set of spam
/// words among random filler, ham rows two of a set of ham words. Deterministic for a seed.
/// </summary>
internal static class SyntheticMail
{
    private static readonly string[] Filler = "the a of to and in for on with this that is was be have it you we at from by please note".Split(' ');
    private static readonly string[] Spam = "winner prize cash free offer viagra lottery bonus".Split(' ');
    private static readonly string[] Ham = "meeting agenda project report schedule review minutes budget".Split(' ');

    public sealed class Mail
    {
        public string Text { get; set; } = "";
        public bool Label { get; set; }
        public float LabelOrMissing { get; set; }
        public string Topic { get; set; } = "";
    }

    public static List<Mail> Make(int count, int seed, double labelledFraction = 1.0)
    {
        var random = new Random(seed);
        var mails = new List<Mail>();
        for (var i = 0; i < count; i++)
        {
            var spam = random.Next(2) == 1;
            var words = Enumerable.Range(0, 12).Select(_ => Filler[random.Next(Filler.Length)]).ToList();
            var signal = spam ? Spam : Ham;
            for (var k = 0; k < 2; k++) words.Insert(random.Next(words.Count), signal[random.Next(signal.Length)]);
            var labelled = random.NextDouble() < labelledFraction;
            mails.Add(new Mail
            {
                Text = string.Join(' ', words), Label = spam, LabelOrMissing = labelled ? (spam ? 1 : 0) : float.NaN,
                Topic = spam ? "spam" : (i % 3 == 0 ? "work" : "ham"),
            });
        }
        return mails;
    }

    public static TextTokenizer Tokenizer(IEnumerable<Mail> mails) =>
        WordPieceTrainer.TrainTokenizer(mails.Select(m => m.Text), new WordPieceTrainerOptions { VocabularySize = 200, MinFrequency = 1 });
}
