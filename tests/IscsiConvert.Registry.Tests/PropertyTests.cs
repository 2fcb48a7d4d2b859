using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using CsCheck;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Registry.Tests;

/// <summary>
/// Random sequences of edits applied to a real hive and to a plain in-memory model agree, and hivex reads the saved
/// file as the model says.
/// </summary>
public sealed class PropertyTests
{
    // Names that collide case-insensitively, a non-Latin-1 one (stored as UTF-16) and a Latin-1 one (stored compressed).
    private static readonly string[] KeyNames = { "alpha", "Alpha", "beta", "\u043a\u043b\u044e\u0447", "Z\u00e9ro" };
    private static readonly string[] ValueNames = { "", "v", "V", "data", "\u00fcber" };
    private static readonly int[] Sizes = { 0, 1, 4, 5, 100, 4000, 16344, 16345, 40000 };
    private static readonly uint[] Types = { 0, 1, 3, 4, 7, 11, 0x4242 };

    internal sealed record Op(int Kind, int Key1, int Key2, int Value, int Type, int Size, byte Seed)
    {
        public string Path => Key2 < KeyNames.Length ? KeyNames[Key1] + "\\" + KeyNames[Key2] : KeyNames[Key1];

        public override string ToString() => Kind switch
        {
            0 => $"create {Path}",
            1 => $"delete {Path}",
            2 => $"rename {Path} -> {KeyNames[Value]}",
            3 or 4 => $"set {Path} : '{ValueNames[Value]}' type {Types[Type]} size {Sizes[Size]}",
            _ => $"delete value {Path} : '{ValueNames[Value]}'",
        };
    }

    private static readonly Gen<Op> OpGen = Gen.Select(Gen.Int[0, 5], Gen.Int[0, KeyNames.Length - 1], Gen.Int[0, KeyNames.Length + 1],
        Gen.Int[0, ValueNames.Length - 1], Gen.Int[0, Types.Length - 1], Gen.Int[0, Sizes.Length - 1], Gen.Byte,
        (kind, k1, k2, v, t, s, seed) => new Op(kind, k1, k2, v, t, s, seed));

    /// <summary>The model: a tree of keys with case-insensitive names, as Windows compares them.</summary>
    private sealed class Node
    {
        public Node(string name)
        {
            Name = name;
        }

        public string Name { get; set; }

        public Dictionary<string, Node> Children { get; } = new(StringComparer.OrdinalIgnoreCase);

        public Dictionary<string, (string Name, ValueData Data)> Values { get; } = new(StringComparer.OrdinalIgnoreCase);
    }

    [Fact]
    public void RandomEditsAgreeWithModelAndHivex()
    {
        string seed = TestData.Require(Hives.Minimal);
        Oracle.Require("hivexregedit");
        OpGen.Array[1, 40].Sample(ops =>
        {
            using var tmp = new TempDir();
            string path = tmp.File("hive");
            File.Copy(seed, path);
            File.SetAttributes(path, FileAttributes.Normal);
            var root = new Node(string.Empty);
            using (RegistryHive hive = RegistryHive.Open(path, new RegistryOpenOptions { Writable = true, TimeProvider = new FixedTime() }))
            {
                foreach (Op op in ops)
                {
                    Apply(hive, root, op);
                }
                RegModel api = RegModel.FromHive(hive.Root);
                RegModel model = ToModel(root);
                Assert.True(api.Diff(model).Count == 0, "api vs model:\n" + string.Join("\n", api.Diff(model)));
                IReadOnlyList<RegistryProblem> problems = hive.Verify();
                Assert.True(problems.Count == 0, string.Join("\n", problems));
                hive.Save();
            }
            RegModel saved = Hivex.Export(path);
            RegModel expected = ToModel(root);
            Assert.True(saved.Diff(expected).Count == 0, "hivex vs model:\n" + string.Join("\n", saved.Diff(expected)));
        }, iter: 40, threads: 1);
    }

    private static void Apply(RegistryHive hive, Node root, Op op)
    {
        string[] parts = op.Path.Split('\\');
        Node? parentNode = parts.Length == 1 ? root : root.Children.GetValueOrDefault(parts[0]);
        Node? node = parentNode?.Children.GetValueOrDefault(parts[^1]);
        switch (op.Kind)
        {
            case 0:
                hive.Root.CreateSubkey(op.Path);
                parentNode = root;
                foreach (string p in parts)
                {
                    if (!parentNode.Children.TryGetValue(p, out Node? next))
                    {
                        next = new Node(p);
                        parentNode.Children[p] = next;
                    }
                    parentNode = next;
                }
                break;
            case 1:
            {
                RegistryKey? parent = parts.Length == 1 ? hive.Root : hive.OpenKey(parts[0]);
                bool deleted = parent is not null && parent.DeleteSubkeyTree(parts[^1]);
                Assert.Equal(node is not null, deleted);
                if (node is not null)
                {
                    parentNode!.Children.Remove(parts[^1]);
                }
                break;
            }
            case 2:
            {
                string newName = KeyNames[op.Value];
                RegistryKey? key = hive.OpenKey(op.Path);
                Assert.Equal(node is not null, key is not null);
                if (node is null)
                {
                    return;
                }
                if (parentNode!.Children.TryGetValue(newName, out Node? clash) && clash != node)
                {
                    Assert.Throws<InvalidOperationException>(() => key!.Rename(newName));
                    return;
                }
                key!.Rename(newName);
                parentNode.Children.Remove(node.Name);
                node.Name = newName;
                parentNode.Children[newName] = node;
                break;
            }
            case 3 or 4:
            {
                if (node is null)
                {
                    return;
                }
                byte[] data = new byte[Sizes[op.Size]];
                for (int i = 0; i < data.Length; i++)
                {
                    data[i] = (byte)(op.Seed + (i * 7) + (i >> 9));
                }
                string name = ValueNames[op.Value];
                hive.OpenKey(op.Path)!.SetValue(name, (RegistryValueType)Types[op.Type], data);
                string stored = node.Values.TryGetValue(name, out var old) ? old.Name : name;
                node.Values[name] = (stored, new ValueData(Types[op.Type], data));
                break;
            }
            default:
            {
                string name = ValueNames[op.Value];
                bool deleted = node is not null && hive.OpenKey(op.Path)!.DeleteValue(name);
                Assert.Equal(node is not null && node.Values.Remove(name), deleted);
                break;
            }
        }
    }

    private static RegModel ToModel(Node root)
    {
        var m = new RegModel();
        var stack = new Stack<(Node, string)>();
        stack.Push((root, string.Empty));
        while (stack.Count > 0)
        {
            (Node n, string path) = stack.Pop();
            var values = new SortedDictionary<string, ValueData>(StringComparer.Ordinal);
            foreach (var v in n.Values.Values)
            {
                values[v.Name] = v.Data;
            }
            m.Keys[path] = values;
            foreach (Node c in n.Children.Values)
            {
                stack.Push((c, path.Length == 0 ? c.Name : path + "\\" + c.Name));
            }
        }
        return m;
    }
}
