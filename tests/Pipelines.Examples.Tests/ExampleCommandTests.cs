using System.CommandLine;
using Pipelines.Examples.Common;

namespace Pipelines.Examples.Tests;

/// <summary>The command line every example parses: both value forms, defaults, and no action on help or errors.</summary>
[TestClass]
public sealed class ExampleCommandTests
{
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();
    private readonly ExampleCommand _command = new("an example");
    private readonly Option<string> _device;
    private readonly Option<int> _steps;
    private readonly Option<double> _fraction;
    private readonly Option<bool> _full;
    private readonly Option<string?> _model;
    private bool _ran;

    public ExampleCommandTests()
    {
        _device = _command.Device();
        _steps = _command.Add("--steps", 600, "pretraining steps");
        _fraction = _command.Add("--fraction", 0.25, "fraction of the labels");
        _full = _command.Add("--full", false, "the whole benchmark");
        _model = _command.Add("--model", "a checkpoint directory");
    }

    // Runs the command line; the action records that it ran and hands the parse result out.
    private int Run(string[] args, out ParseResult? parsed)
    {
        ParseResult? seen = null;
        var exit = _command.Run(args, run => { _ran = true; seen = run; return 0; }, new InvocationConfiguration { Output = _output, Error = _error });
        parsed = seen;
        return exit;
    }

    [TestMethod]
    [DataRow(new[] { "--device", "cuda" }, "cuda")]
    [DataRow(new[] { "--device=cuda" }, "cuda")]
    [DataRow(new[] { "--device", "cuda:1" }, "cuda:1")]
    [DataRow(new[] { "--device=cuda:1" }, "cuda:1")]
    [DataRow(new[] { "--device=cpu" }, "cpu")]
    public void AValueFollowsTheNameAfterASpaceOrAnEqualsSign(string[] args, string device)
    {
        Assert.AreEqual(0, Run(args, out var parsed), _error.ToString());
        Assert.AreEqual(device, parsed!.GetRequiredValue(_device));
    }

    [TestMethod]
    public void TypedValuesParseInBothForms()
    {
        Assert.AreEqual(0, Run(["--steps=20", "--fraction", "1", "--full", "--model=dir"], out var parsed), _error.ToString());
        Assert.AreEqual(20, parsed!.GetRequiredValue(_steps));
        Assert.AreEqual(1.0, parsed.GetRequiredValue(_fraction));
        Assert.IsTrue(parsed.GetRequiredValue(_full));
        Assert.AreEqual("dir", parsed.GetValue(_model));
    }

    [TestMethod]
    public void AbsentOptionsTakeTheirDefaults()
    {
        Assert.AreEqual(0, Run([], out var parsed), _error.ToString());
        Assert.IsTrue(_ran);
        Assert.AreEqual("auto", parsed!.GetRequiredValue(_device));
        Assert.AreEqual(600, parsed.GetRequiredValue(_steps));
        Assert.AreEqual(0.25, parsed.GetRequiredValue(_fraction));
        Assert.IsFalse(parsed.GetRequiredValue(_full));
        Assert.IsNull(parsed.GetValue(_model));
    }

    [TestMethod]
    public void TheActionsExitCodeIsTheProgramsExitCode()
    {
        var exit = _command.Run([], _ => 2, new InvocationConfiguration { Output = _output, Error = _error });
        Assert.AreEqual(2, exit);
    }

    [TestMethod]
    [DataRow("--bogus")]
    [DataRow("--devices=cuda")]
    [DataRow("stray")]
    public void AnUnknownOptionIsAnErrorAndRunsNoAction(string unknown)
    {
        Assert.AreNotEqual(0, Run(["--steps", "20", unknown], out _));
        Assert.IsFalse(_ran, "the action ran despite the error");
        StringAssert.Contains(_error.ToString(), unknown);
    }

    [TestMethod]
    [DataRow("--steps", "many")]
    [DataRow("--fraction", "half")]
    public void AValueOfTheWrongTypeIsAnErrorAndRunsNoAction(string name, string value)
    {
        Assert.AreNotEqual(0, Run([$"{name}={value}"], out _));
        Assert.IsFalse(_ran, "the action ran despite the error");
        StringAssert.Contains(_error.ToString(), value);
    }

    [TestMethod]
    public void HelpListsEveryOptionWithItsDefaultAndRunsNoAction()
    {
        Assert.AreEqual(0, Run(["--help"], out _));
        Assert.IsFalse(_ran, "--help ran the action");
        var help = _output.ToString();
        StringAssert.Contains(help, "an example");
        foreach (var expected in new[] { "--device", "[default: auto]", "--steps", "[default: 600]", "--fraction", "--full", "[default: false]", "--model" })
            StringAssert.Contains(help, expected);
    }
}
