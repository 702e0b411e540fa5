/*
 * The segment rule editor of the admin (see segments/forms.py).
 *
 * The rule lives as JSON in the widget's textarea (the "raw rule" view). This script draws it
 * as rows a marketer can edit: a condition is a field, an operator and what the field needs
 * (a number and a unit, choices, a window, an attribute name); a group is "all of" / "any of"
 * its rows. Every change writes the JSON back into the textarea, which is what the form posts,
 * and asks the server for a preview (debounced). Data from the server is only ever inserted
 * with textContent, never as HTML.
 *
 * No framework and no build step: plain DOM, as the Django admin itself does.
 */
"use strict";

(function () {
  const MAX_DEPTH = 5; // segments.rules.validation.MAX_DEPTH
  const PREVIEW_DELAY_MS = 500;

  function element(tag, properties, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(properties || {})) {
      if (name === "dataset") {
        Object.assign(node.dataset, value);
      } else if (name.startsWith("aria-")) {
        node.setAttribute(name, value);
      } else {
        node[name] = value;
      }
    }
    for (const child of children || []) {
      if (child !== null && child !== undefined) {
        node.append(child);
      }
    }
    return node;
  }

  function interpolate(template, values) {
    return template.replace(/%\((\w+)\)s/g, (match, name) =>
      name in values ? String(values[name]) : match
    );
  }

  function isGroup(item) {
    return item !== null && typeof item === "object" && !Array.isArray(item) && "match" in item;
  }

  // The editor can draw a tree whose groups hold lists of objects; anything else is left to
  // the raw view (the server's validation explains what is wrong with it).
  function isDrawable(group) {
    if (!isGroup(group) || !Array.isArray(group.conditions)) {
      return false;
    }
    return group.conditions.every(
      (item) =>
        item !== null &&
        typeof item === "object" &&
        !Array.isArray(item) &&
        (!isGroup(item) || isDrawable(item))
    );
  }

  // A number input's text as the rule stores it: an integer, null when empty, and the text
  // itself otherwise, so that the server names the mistake.
  function numberValue(text) {
    const trimmed = text.trim();
    if (trimmed === "") {
      return null;
    }
    const number = Number(trimmed);
    return Number.isInteger(number) ? number : trimmed;
  }

  class RuleEditor {
    constructor(root) {
      this.root = root;
      this.textarea = root.querySelector(".rule-editor-raw textarea");
      this.catalogue = JSON.parse(document.getElementById(root.dataset.catalogueId).textContent);
      this.labels = this.catalogue.labels || {};
      this.fields = new Map(this.catalogue.fields.map((field) => [field.name, field]));
      this.tree = root.querySelector(".rule-editor-tree");
      this.message = root.querySelector(".rule-editor-message");
      this.raw = root.querySelector(".rule-editor-raw");
      this.previewUrl = root.dataset.previewUrl;
      this.segmentId = root.dataset.segmentId;
      this.previewButton = root.querySelector(".rule-preview-button");
      this.previewStatus = root.querySelector(".rule-preview-status");
      this.previewResult = root.querySelector(".rule-preview-result");
      this.previewTimer = null;
      this.previewRequest = null;
      this.previewSequence = 0;
      this.pendingFocus = null;
      this.rule = null;

      this.textarea.addEventListener("input", () => {
        this.readRaw();
        this.render();
        this.schedulePreview();
      });
      this.previewButton.addEventListener("click", () => this.preview());
      this.readRaw();
      this.render();
      if (this.rule) {
        this.preview();
      }
    }

    // The rule <-> the textarea ------------------------------------------------------------

    readRaw() {
      let rule = null;
      try {
        rule = JSON.parse(this.textarea.value);
      } catch (error) {
        rule = null;
      }
      this.rule = isDrawable(rule) ? rule : null;
    }

    writeRaw() {
      this.textarea.value = JSON.stringify(this.rule, null, 2);
    }

    // Called after every edit; `redraw` when the rows themselves change shape.
    changed(redraw) {
      this.writeRaw();
      if (redraw) {
        this.render();
      }
      this.schedulePreview();
    }

    // Drawing -------------------------------------------------------------------------------

    render() {
      const active = document.activeElement;
      const focusKey =
        this.pendingFocus ||
        (active && this.tree.contains(active) ? active.dataset.focusKey : null);
      this.pendingFocus = null;
      this.tree.replaceChildren();
      if (!this.rule) {
        this.message.textContent = this.labels.invalid_raw;
        this.message.hidden = false;
        this.raw.open = true;
        this.root.dataset.editorState = "raw-only";
        return;
      }
      this.message.hidden = true;
      this.root.dataset.editorState = "ready";
      this.tree.append(this.groupElement(this.rule, null, "rule", 1));
      if (focusKey) {
        const target = this.tree.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
        if (target) {
          target.focus();
        }
      }
    }

    select(options, selected, focusKey, label, onChange) {
      const node = element("select", {
        dataset: { focusKey },
        "aria-label": label,
      });
      let found = false;
      for (const [value, text] of options) {
        const option = element("option", { value: String(value), textContent: text });
        if (String(value) === String(selected)) {
          option.selected = true;
          found = true;
        }
        node.append(option);
      }
      if (!found) {
        // A value the catalogue does not know (an old or hand-written rule): shown as it is,
        // so that nothing changes unless the user picks something else.
        const shown = selected === undefined || selected === null ? "" : String(selected);
        node.append(element("option", { value: shown, textContent: shown, selected: true, dataset: { unknown: "1" } }));
      }
      node.addEventListener("change", () => onChange(node.value));
      return node;
    }

    button(text, className, onClick) {
      const node = element("button", { type: "button", className: `button ${className}`, textContent: text });
      node.addEventListener("click", onClick);
      return node;
    }

    groupElement(group, parent, path, depth) {
      const labels = this.labels;
      const box = element("div", {
        className: parent ? "rule-group rule-group-nested" : "rule-group rule-group-root",
        dataset: { path },
      });
      const match = this.select(this.catalogue.matches, group.match, `${path}:match`, labels.match_suffix, (value) => {
        group.match = value;
        this.changed(false);
      });
      match.classList.add("rule-match");
      box.append(
        element("div", { className: "rule-group-head" }, [
          match,
          " ",
          element("span", { textContent: labels.match_suffix }),
        ])
      );

      const items = element("div", { className: "rule-group-items" });
      group.conditions.forEach((item, index) => {
        const itemPath = `${path}.${index}`;
        items.append(
          isGroup(item)
            ? this.groupElement(item, group.conditions, itemPath, depth + 1)
            : this.conditionElement(item, group.conditions, itemPath)
        );
      });
      if (!group.conditions.length) {
        items.append(
          element("p", { className: "rule-empty help", textContent: parent ? labels.empty_group : labels.empty_rule })
        );
      }
      box.append(items);

      const actions = element("div", { className: "rule-group-actions" }, [
        this.button(labels.add_condition, "rule-add-condition", () => {
          this.pendingFocus = `${path}.${group.conditions.length}:field`;
          group.conditions.push(this.newCondition());
          this.changed(true);
        }),
      ]);
      if (depth < MAX_DEPTH) {
        actions.append(
          " ",
          this.button(labels.add_group, "rule-add-group", () => {
            this.pendingFocus = `${path}.${group.conditions.length}:match`;
            group.conditions.push({ match: "any", conditions: [this.newCondition()] });
            this.changed(true);
          })
        );
      }
      if (parent) {
        actions.append(
          " ",
          this.button(labels.remove_group, "rule-remove-group", () => {
            parent.splice(parent.indexOf(group), 1);
            this.changed(true);
          })
        );
      }
      box.append(actions);
      return box;
    }

    conditionElement(condition, parent, path) {
      const labels = this.labels;
      const field = this.fields.get(condition.field);
      const row = element("div", { className: "rule-condition", dataset: { path } });
      const fieldOptions = this.catalogue.fields.map((f) => [f.name, f.label]);
      const fieldSelect = this.select(fieldOptions, condition.field, `${path}:field`, labels.field, (value) => {
        const previous = this.fields.get(condition.field);
        this.replace(condition, this.normalize({ ...condition, field: value }, previous));
        this.changed(true);
      });
      fieldSelect.classList.add("rule-field");
      const unknown = fieldSelect.querySelector("option[data-unknown]");
      if (unknown) {
        unknown.textContent = interpolate(labels.unknown_field, { field: unknown.value });
      }
      row.append(fieldSelect);

      if (field) {
        const operators = field.operators.map((operator) => [operator.name, operator.label]);
        const operatorSelect = this.select(operators, condition.operator, `${path}:operator`, labels.operator, (value) => {
          this.replace(condition, this.normalize({ ...condition, operator: value }, field));
          this.changed(true);
        });
        operatorSelect.classList.add("rule-operator");
        row.append(" ", operatorSelect);
        const operator = field.operators.find((o) => o.name === condition.operator);
        if (operator) {
          for (const part of this.valueParts(field, operator, condition, path)) {
            row.append(" ", part);
          }
        }
      }

      row.append(
        " ",
        this.button(labels.remove, "rule-remove-condition", () => {
          parent.splice(parent.indexOf(condition), 1);
          this.changed(true);
        })
      );
      return row;
    }

    numberInput(condition, key, path, minimum, label) {
      const value = condition[key];
      const input = element("input", {
        type: "number",
        className: `vIntegerField rule-${key}`,
        value: value === null || value === undefined ? "" : String(value),
        step: "1",
        dataset: { focusKey: `${path}:${key}` },
        "aria-label": label,
      });
      if (minimum !== null) {
        input.min = String(minimum);
      }
      input.addEventListener("input", () => {
        condition[key] = numberValue(input.value);
        this.changed(false);
      });
      return input;
    }

    unitSelect(condition, path) {
      const select = this.select(this.catalogue.units, condition.unit, `${path}:unit`, this.labels.unit, (value) => {
        condition.unit = value;
        this.changed(false);
      });
      select.classList.add("rule-unit");
      return select;
    }

    valueParts(field, operator, condition, path) {
      const labels = this.labels;
      const parts = [];
      switch (field.kind) {
        case "date":
          if (operator.takes_value) {
            parts.push(this.numberInput(condition, "value", path, 1, labels.value), this.unitSelect(condition, path));
          }
          break;
        case "expiry":
          parts.push(this.numberInput(condition, "value", path, 0, labels.value), this.unitSelect(condition, path));
          break;
        case "number":
          parts.push(this.numberInput(condition, "value", path, null, labels.value));
          break;
        case "count": {
          parts.push(this.numberInput(condition, "value", path, 1, labels.value));
          const windowed = condition.within !== null && condition.within !== undefined && condition.within !== "";
          const windowSelect = this.select(
            [
              ["ever", labels.window_ever],
              ["last", labels.window_last],
            ],
            windowed ? "last" : "ever",
            `${path}:window`,
            labels.window_last,
            (value) => {
              if (value === "last") {
                condition.within = 3;
                condition.unit = "months";
              } else {
                condition.within = null;
                delete condition.unit;
              }
              this.changed(true);
            }
          );
          windowSelect.classList.add("rule-window");
          parts.push(windowSelect);
          if (windowed) {
            parts.push(this.numberInput(condition, "within", path, 1, labels.window_last), this.unitSelect(condition, path));
          }
          if (field.machine_events) {
            const checkbox = element("input", {
              type: "checkbox",
              className: "rule-include-machine",
              checked: condition.include_machine === true,
              dataset: { focusKey: `${path}:include_machine` },
            });
            checkbox.addEventListener("change", () => {
              condition.include_machine = checkbox.checked;
              this.changed(false);
            });
            parts.push(element("label", { className: "rule-machine" }, [checkbox, " ", labels.include_machine]));
          }
          break;
        }
        case "choice":
        case "relation":
          parts.push(this.multiSelect(field, condition, path));
          break;
        case "attribute": {
          const key = element("input", {
            type: "text",
            className: "rule-key",
            value: typeof condition.key === "string" ? condition.key : "",
            placeholder: labels.attribute_key,
            maxLength: 100,
            dataset: { focusKey: `${path}:key` },
            "aria-label": labels.attribute_key,
          });
          key.addEventListener("input", () => {
            condition.key = key.value;
            this.changed(false);
          });
          parts.push(key);
          if (operator.takes_value) {
            const text = element("input", {
              type: "text",
              className: "rule-text",
              value: condition.value === null || condition.value === undefined ? "" : String(condition.value),
              placeholder: labels.attribute_value,
              maxLength: 255,
              dataset: { focusKey: `${path}:value` },
              "aria-label": labels.attribute_value,
            });
            text.addEventListener("input", () => {
              condition.value = text.value;
              this.changed(false);
            });
            parts.push(text);
          }
          break;
        }
        default:
          break;
      }
      return parts;
    }

    multiSelect(field, condition, path) {
      const isRelation = field.kind === "relation";
      const chosen = new Set((Array.isArray(condition.value) ? condition.value : [condition.value]).map(String));
      const node = element("select", {
        multiple: true,
        className: "rule-choices",
        dataset: { focusKey: `${path}:value` },
        "aria-label": this.labels.value,
      });
      const known = new Set();
      for (const [value, label] of field.choices) {
        known.add(String(value));
        node.append(element("option", { value: String(value), textContent: label, selected: chosen.has(String(value)) }));
      }
      for (const value of chosen) {
        if (!known.has(value) && value !== "undefined" && value !== "null") {
          // An id whose tag, list, source or segment was deleted: kept (and flagged) until
          // the user unselects it, rather than silently dropped.
          node.append(
            element("option", {
              value,
              textContent: isRelation ? interpolate(this.labels.missing_option, { id: value }) : value,
              selected: true,
            })
          );
        }
      }
      node.size = Math.min(Math.max(node.options.length, 2), 6);
      node.addEventListener("change", () => {
        const values = Array.from(node.selectedOptions, (option) => option.value);
        condition.value = isRelation ? values.map((value) => numberValue(value)) : values;
        this.changed(false);
      });
      return node;
    }

    // Conditions ----------------------------------------------------------------------------

    replace(condition, next) {
      for (const key of Object.keys(condition)) {
        delete condition[key];
      }
      Object.assign(condition, next);
    }

    newCondition() {
      return this.normalize({ field: this.catalogue.fields[0].name }, null);
    }

    // The condition with the keys its field and operator use, keeping what still makes sense
    // from `condition` (the value and unit when the field kind stays the same).
    normalize(condition, previousField) {
      const field = this.fields.get(condition.field);
      if (!field) {
        return condition;
      }
      const sameKind = previousField && previousField.kind === field.kind;
      const sameField = previousField && previousField.name === field.name;
      const operator = field.operators.find((o) => o.name === condition.operator) || field.operators[0];
      const next = { field: field.name, operator: operator.name };
      const keep = (key, fallback) => (sameKind && condition[key] !== undefined ? condition[key] : fallback);
      switch (field.kind) {
        case "date":
          if (operator.takes_value) {
            next.value = keep("value", null);
            next.unit = keep("unit", "months") || "months";
          }
          break;
        case "expiry":
          next.value = keep("value", 30);
          next.unit = keep("unit", "days") || "days";
          break;
        case "number":
          next.value = keep("value", null);
          break;
        case "count":
          next.value = keep("value", 1);
          next.within = keep("within", null);
          if (next.within !== null && next.within !== "") {
            next.unit = keep("unit", "months") || "months";
          }
          if (field.machine_events) {
            next.include_machine = keep("include_machine", false) === true;
          }
          break;
        case "choice":
        case "relation":
          next.value = sameField && Array.isArray(condition.value) ? condition.value : [];
          break;
        case "attribute":
          next.key = keep("key", "");
          if (operator.takes_value) {
            next.value = keep("value", "");
          }
          break;
        default:
          break;
      }
      return next;
    }

    // Preview -------------------------------------------------------------------------------

    schedulePreview() {
      window.clearTimeout(this.previewTimer);
      this.previewTimer = window.setTimeout(() => this.preview(), PREVIEW_DELAY_MS);
    }

    csrfToken() {
      const input = this.textarea.form && this.textarea.form.querySelector("[name=csrfmiddlewaretoken]");
      return input ? input.value : "";
    }

    async preview() {
      window.clearTimeout(this.previewTimer);
      if (!this.previewUrl) {
        return;
      }
      if (this.previewRequest) {
        this.previewRequest.abort();
      }
      const request = new AbortController();
      this.previewRequest = request;
      const sequence = ++this.previewSequence;
      this.root.dataset.previewState = "loading";
      this.previewStatus.textContent = this.labels.preview_loading;

      const body = new FormData();
      body.append("rule", this.textarea.value);
      if (this.segmentId) {
        body.append("segment", this.segmentId);
      }
      let response = null;
      let data = null;
      try {
        response = await fetch(this.previewUrl, {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": this.csrfToken(), "X-Requested-With": "XMLHttpRequest" },
          signal: request.signal,
        });
        data = await response.json().catch(() => null);
      } catch (error) {
        if (error.name === "AbortError") {
          return;
        }
      }
      if (sequence !== this.previewSequence) {
        return; // a newer preview is on its way
      }
      this.previewRequest = null;
      this.previewStatus.textContent = "";
      if (response && response.ok && data) {
        this.showPreview(data);
      } else if (data && Array.isArray(data.errors)) {
        this.showErrors(data.errors);
      } else {
        this.showErrors([this.labels.preview_failed]);
      }
    }

    showErrors(messages) {
      this.root.dataset.previewState = "error";
      delete this.root.dataset.previewCount;
      this.previewResult.replaceChildren(
        element(
          "ul",
          { className: "errorlist rule-preview-errors" },
          messages.map((message) => element("li", { textContent: String(message) }))
        )
      );
    }

    showPreview(data) {
      const labels = this.labels;
      const locale = document.documentElement.lang || undefined;
      const format = (number) => Number(number).toLocaleString(locale);
      const count = Number(data.count);
      const countText =
        count === 1 ? labels.preview_count_one : interpolate(labels.preview_count_many, { count: format(count) });

      const sampleRows = data.sample.map((contact) => {
        const link = element("a", { href: contact.url, textContent: contact.email });
        return element("tr", {}, [
          element("td", {}, [link]),
          element("td", { textContent: contact.name }),
          element("td", { textContent: contact.source || "" }),
          element("td", { textContent: contact.status }),
        ]);
      });
      const sourceRows = data.by_source.map((row) =>
        element("tr", {}, [
          element("td", { textContent: row.source || labels.preview_no_source }),
          element("td", { className: "rule-number", textContent: format(row.count) }),
          element("td", {
            className: "rule-number",
            textContent: count ? `${((100 * row.count) / count).toLocaleString(locale, { maximumFractionDigits: 1 })} %` : "",
          }),
        ])
      );
      const header = (names) =>
        element("thead", {}, [element("tr", {}, names.map((name) => element("th", { scope: "col", textContent: name })))]);

      const tables = [];
      if (sampleRows.length) {
        tables.push(
          element("table", { className: "rule-preview-sample" }, [
            element("caption", { textContent: labels.preview_sample }),
            header([labels.email, labels.name, labels.source, labels.status]),
            element("tbody", {}, sampleRows),
          ])
        );
      }
      if (sourceRows.length) {
        tables.push(
          element("table", { className: "rule-preview-sources" }, [
            element("caption", { textContent: labels.preview_by_source }),
            header([labels.source, labels.contacts, labels.preview_share]),
            element("tbody", {}, sourceRows),
          ])
        );
      }
      this.root.dataset.previewState = "done";
      this.root.dataset.previewCount = String(count);
      this.previewResult.replaceChildren(
        element("p", { className: "rule-preview-count" }, [element("strong", { textContent: countText })]),
        element("div", { className: "rule-preview-tables" }, tables)
      );
    }
  }

  function start() {
    for (const root of document.querySelectorAll("[data-rule-editor]")) {
      if (!root.ruleEditor) {
        root.ruleEditor = new RuleEditor(root);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
