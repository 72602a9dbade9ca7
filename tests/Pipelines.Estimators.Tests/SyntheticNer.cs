
namespace Pipelines.Estimators.Tests;

/// <summary>
/// Sentences from templates with person, location and organisation names, tagged word by word
/// in IOB2 (or IOB1). Entities are learnable from the names and from their context words.
/// </summary>
internal static class SyntheticNer
{
    public sealed class Row
    {
        public string Sentence { get; set; } = "";
        public string[] Label { get; set; } = [];
    }

    private static readonly string[] People = ["John Smith", "Mary", "Ann Lee", "Peter Blackburn", "Wei Zhang", "Olga", "Carlos Diaz", "Fatima"];
    private static readonly string[] Places = ["Paris", "New York", "Berlin", "Tokyo", "Cape Town", "Lima", "San Francisco Bay", "Oslo"];
    private static readonly string[] Organisations = ["Acme Corp", "United Nations", "Reuters", "Red Cross", "Nordic Steel Group", "Fifa"];
    private static readonly string[] Templates =
    [
        "{PER} met {PER} in {LOC} .", "{ORG} opened an office in {LOC} on Monday .", "{PER} works for {ORG} .",
        "yesterday {ORG} said {PER} left {LOC} .", "the weather in {LOC} was cold", "{PER} and {PER} visited {ORG} in {LOC} .",
        "a spokesman for {ORG} declined to comment .", "prices rose again this week .",
    ];

    public static List<Row> Make(int count, int seed, bool iob1 = false)
    {
        var random = new Random(seed);
        var rows = new List<Row>();
        for (var i = 0; i < count; i++)
        {
            var words = new List<string>();
            var tags = new List<string>();
            foreach (var part in Templates[random.Next(Templates.Length)].Split(' '))
            {
                var (type, names) = part switch
                {
                    "{PER}" => ("PER", People),
                    "{LOC}" => ("LOC", Places),
                    "{ORG}" => ("ORG", Organisations),
                    _ => ("", Array.Empty<string>()),
                };
                if (type.Length == 0) { words.Add(part); tags.Add("O"); continue; }
                var name = names[random.Next(names.Length)].Split(' ');
                for (var w = 0; w < name.Length; w++) { words.Add(name[w]); tags.Add((w == 0 ? "B-" : "I-") + type); }
            }
            rows.Add(new Row { Sentence = string.Join(' ', words), Label = iob1 ? EntityTags.ToIob1(tags) : [.. tags] });
        }
        return rows;
    }

    public static TextTokenizer Tokenizer(IEnumerable<Row> rows) =>
        WordPieceTrainer.TrainTokenizer(rows.Select(r => r.Sentence), new WordPieceTrainerOptions { VocabularySize = 400, MinFrequency = 1 });
}
